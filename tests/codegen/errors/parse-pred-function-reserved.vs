/* 'version' cannot name a predicate function (did you mean '(version >= 2)'?) */
type A "a" version 2 {
    u8 y if version;
}
