/* a member needs a name after its type */
type A "a" version 1 {
    u8 ;
}
