//! psephos-verifier: see its issue; not yet built beyond this skeleton.
