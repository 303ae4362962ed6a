//! Rebuild when the embedded bundle or demo inventory changes (include_dir does not track new files).

fn main() {
    println!("cargo:rerun-if-changed=../policy-bundles/cis-aws-foundations");
    println!("cargo:rerun-if-changed=../policy-bundles/keys/seg-dev.pub");
    println!("cargo:rerun-if-changed=demo");
}
