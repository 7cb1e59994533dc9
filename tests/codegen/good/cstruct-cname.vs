/* a type bound to a C struct, members mapped with cname (a local one too) */
type B "b" version 1 cstruct "struct BDev" header "bdev.h" {
    local u8 cap cname "cfg.cap";
    u8 n cname "regs.n";
    u8 vals[n] max 4 cname "regs.vals[0]";
    bool on;
}
