/* a codec declares its C type */
codec cfg "config" size 4;
