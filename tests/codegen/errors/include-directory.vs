/* an included schema is a file, not a directory */
include "_subdir";
