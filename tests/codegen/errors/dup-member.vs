/* two members with one name */
type PIC "pic" version 1 {
    u8 irr;
    u8 imr;
    u8 irr;
}
