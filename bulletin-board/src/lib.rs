//! psephos-board: see its issue; not yet built beyond this skeleton.
