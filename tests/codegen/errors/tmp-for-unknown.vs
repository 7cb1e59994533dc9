/* tmp_for names the parent type */
type T "t" version 1 tmp_for Parent {}
