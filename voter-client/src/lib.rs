//! psephos-voter: see its issue; not yet built beyond this skeleton.
