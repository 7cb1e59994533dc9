/* schema words cannot name codecs */
codec size "config" ctype "uint8_t[4]" size 4;
