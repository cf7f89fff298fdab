//! Write the seed inputs of every target (`psephos_fuzz::seeds`) under a
//! directory, one subdirectory per target:
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --no-default-features --example make_seeds -- fuzz/target/seeds
//! ```

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or_else(|| anyhow::anyhow!("usage: make_seeds <directory>"))?,
    );
    let seeds = psephos_fuzz::seeds::all()?;
    for (target, name, bytes) in &seeds {
        let dir = out.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
    }
    for (target, _) in psephos_fuzz::TARGETS {
        let n = seeds.iter().filter(|(t, _, _)| t == target).count();
        println!("{target}: {n} seeds");
    }
    Ok(())
}
