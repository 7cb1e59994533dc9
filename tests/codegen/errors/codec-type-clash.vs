/* a codec cannot take the name of a type */
type cfg "cfg" version 1 {}
codec cfg "config" ctype "uint8_t[4]";
