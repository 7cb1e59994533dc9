/* two schemas with one base name would generate the same files */
include "_subdir/include-same-basename.vs";
