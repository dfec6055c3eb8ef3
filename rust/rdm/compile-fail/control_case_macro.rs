// expect: compiles
//
// The second control case: the target the misuse cases are built from, with
// nothing misused, must build, so each of them fails for its own misuse.

#[allow(unused_imports)]
use super::rdm::{Bio, IoInfo, Mapped};
use kernel::prelude::*;

super::fixture::case_target! {
    @remap
}
