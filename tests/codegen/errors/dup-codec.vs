/* two codecs with one name */
codec cfg "config" ctype "uint8_t[4]";
codec cfg "config2" ctype "uint8_t[8]";
