//! Starts a test control plane (and, with `--moto`, the AWS simulator) and keeps it running until
//! Enter is pressed, for trying things by hand:
//!
//! ```sh
//! cargo run -p seg-e2e --example control-plane -- --moto
//! kubectl --kubeconfig <printed admin kubeconfig> get namespaces
//! ```

use seg_e2e::{ControlPlane, Moto, User};

fn main() -> seg_e2e::Result<()> {
    let with_moto = std::env::args().any(|a| a == "--moto");
    let cp = ControlPlane::start()?;
    println!("kube-apiserver: {}", cp.server());
    for user in User::ALL {
        println!("  {:<9} {}", user.slug(), cp.kubeconfig(user).display());
    }
    println!("  logs      {}", cp.dir().display());
    let moto = if with_moto {
        let moto = Moto::start()?;
        moto.seed(Vec::<&str>::new())?;
        println!("moto (seeded): {}", moto.endpoint());
        Some(moto)
    } else {
        None
    };
    println!("press Enter to stop");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    drop(moto);
    drop(cp);
    Ok(())
}
