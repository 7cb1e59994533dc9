/* a schema sees the types of what it includes, not of its includers */
include "_uses-main.vs";
type Main "main" version 1 {}
