/* nested types may share a wire name with a section type (QEMU's fdc does),
 * and a subsection name need only start with its parent's (pckbd_outport) */
type FdcInner "fdc" version 2 nested {
    u8 dor;
}
type Fdc "fdc" version 2 {
    FdcInner state;
    u8 x;
    subsection "fdc_extra" version 1 needed (x != 0) {
        u8 y;
    }
}
