/* the included file name cannot be empty */
include "";
