/* comment markers inside strings are text; tabs and CRs are white space */
type A "a//b/*c*/" version 1 { // a line comment
	u8	x; /* a block
	   comment */ u8 y;
}
