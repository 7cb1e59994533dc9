/* a schema with only comments declares nothing */
// nothing here
