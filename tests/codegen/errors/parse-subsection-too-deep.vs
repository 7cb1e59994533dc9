/* subsections nest at most 16 deep */
type A "a" version 1 {
    u8 x;
    subsection "a/0" version 1 needed (x != 0) {
        subsection "a/0/1" version 1 needed (x != 0) {
            subsection "a/0/1/2" version 1 needed (x != 0) {
                subsection "a/0/1/2/3" version 1 needed (x != 0) {
                    subsection "a/0/1/2/3/4" version 1 needed (x != 0) {
                        subsection "a/0/1/2/3/4/5" version 1 needed (x != 0) {
                            subsection "a/0/1/2/3/4/5/6" version 1 needed (x != 0) {
                                subsection "a/0/1/2/3/4/5/6/7" version 1 needed (x != 0) {
                                    subsection "a/0/1/2/3/4/5/6/7/8" version 1 needed (x != 0) {
                                        subsection "a/0/1/2/3/4/5/6/7/8/9" version 1 needed (x != 0) {
                                            subsection "a/0/1/2/3/4/5/6/7/8/9/10" version 1 needed (x != 0) {
                                                subsection "a/0/1/2/3/4/5/6/7/8/9/10/11" version 1 needed (x != 0) {
                                                    subsection "a/0/1/2/3/4/5/6/7/8/9/10/11/12" version 1 needed (x != 0) {
                                                        subsection "a/0/1/2/3/4/5/6/7/8/9/10/11/12/13" version 1 needed (x != 0) {
                                                            subsection "a/0/1/2/3/4/5/6/7/8/9/10/11/12/13/14" version 1 needed (x != 0) {
                                                                subsection "a/0/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15" version 1 needed (x != 0) {
                                                                    subsection "a/0/1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16" version 1 needed (x != 0) {
                                                                    }
                                                                }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
