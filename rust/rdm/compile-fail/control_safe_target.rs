// expect: compiles
//
// The control case: a safe target fragment using the layer must build, so a
// failing case fails for its own reason, not because the harness is broken.

use super::rdm::args::parse_u64;

#[allow(dead_code)]
fn sectors(arg: &str) -> Option<u64> {
    parse_u64(arg)
}
