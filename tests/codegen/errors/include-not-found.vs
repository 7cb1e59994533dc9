/* an included schema must exist next to the includer or in a -I directory */
include "_missing.vs";
