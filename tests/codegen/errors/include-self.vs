/* a schema cannot include itself */
include "include-self.vs";
