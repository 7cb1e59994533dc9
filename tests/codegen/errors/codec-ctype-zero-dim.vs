/* array dimensions of a codec's ctype are positive */
codec cfg "config" ctype "uint8_t[0]";
