/* columns count tabs to the next multiple of 8, like compilers: the unknown type is at column 9 */
type A "a" version 1 {
	Regs r;
}
