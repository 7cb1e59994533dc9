/* 'default' is what streams older than 'since' lack */
type A "a" version 2 {
    u8 x default 3;
}
