/* local member names become C names too */
type A "a" version 1 {
    local u8 switch;
}
