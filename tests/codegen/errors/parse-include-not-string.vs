/* include takes a file name in quotes */
include other;
