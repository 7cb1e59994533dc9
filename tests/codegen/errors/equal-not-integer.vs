/* 'equal' compares single integers */
type A "a" version 1 {
    bool on equal;
}
