//! What the binary carries: the development public key, the built-in bundles and the demo inventory.

use ed25519_dalek::VerifyingKey;
use include_dir::{include_dir, Dir, DirEntry};
use seg_engine::bundle::BundleFiles;
use seg_engine::dsse::KeyFile;

use crate::error::CliError;

/// Public half of the development signing key (`policy-bundles/keys/seg-dev.pub`). Dev only.
pub const DEV_PUBLIC_KEY: &str = include_str!("../../policy-bundles/keys/seg-dev.pub");

static CIS_AWS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../policy-bundles/cis-aws-foundations");

/// The demo inventory: a small AWS account as AWS Config configuration items.
pub const DEMO_INVENTORY: &str = include_str!("../demo/aws-demo-account.jsonl");

pub fn dev_key() -> Result<VerifyingKey, CliError> {
    Ok(KeyFile::parse(DEV_PUBLIC_KEY)?.verifying_key()?)
}

/// The built-in CIS AWS Foundations bundle.
pub fn cis_aws_bundle() -> Result<BundleFiles, CliError> {
    let mut files = BundleFiles::new();
    add_dir(&CIS_AWS, &mut files)?;
    Ok(files)
}

fn add_dir(dir: &Dir<'_>, files: &mut BundleFiles) -> Result<(), CliError> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(d) => add_dir(d, files)?,
            DirEntry::File(f) => {
                let path = f
                    .path()
                    .to_str()
                    .ok_or_else(|| CliError::Usage("embedded path is not UTF-8".into()))?;
                files.insert(&path.replace('\\', "/"), f.contents().to_vec())?;
            }
        }
    }
    Ok(())
}
