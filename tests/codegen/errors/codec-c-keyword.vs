/* a codec is a C function, so C keywords are refused */
codec static "config" ctype "uint8_t[4]";
