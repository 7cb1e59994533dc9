/* a codec's wire size is 32-bit */
codec cfg "config" ctype "uint8_t[4]" size 4294967296;
