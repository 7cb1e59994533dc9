/* a member cannot appear after the type's current version */
type PIC "pic" version 3 {
    u8 irr;
    u8 elcr since 4;
}
