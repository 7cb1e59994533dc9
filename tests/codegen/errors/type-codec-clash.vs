/* a type cannot take the name of a codec */
codec cfg "config" ctype "uint8_t[4]";
type cfg "cfg" version 1 {}
