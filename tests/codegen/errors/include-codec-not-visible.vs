/* codecs, too, are visible only to schemas that include them */
include "_uses-codec.vs";
codec cfg "config" ctype "uint8_t[4]";
