/* a codec's ctype is a C type with optional dimensions */
codec cfg "config" ctype "[4]";
