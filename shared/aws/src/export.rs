//! Exports to S3 ([`S3Sink`]): the bytes of a `reconciliation::billing::export` as one
//! object, through the real aws-sdk-s3 client. Memory holds one part at most: bytes
//! are gathered to the part size (8 MiB, S3's minimum is 5 MiB for all parts but the
//! last) and each full part is uploaded as it fills (a multipart upload, begun with
//! the first full part); an export smaller than one part is a single `PutObject`. A
//! failed export aborts its multipart upload, so no part is left billed.

use crate::error::AwsError;
use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use reconciliation::PortError;
use reconciliation::billing::export::ExportSink;

/// The default part size.
pub const PART_BYTES: usize = 8 * 1024 * 1024;
/// S3's smallest part (all but the last).
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// `s3://bucket/key` where an export went, and in how many parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    pub key: String,
    pub parts: usize,
    pub bytes: u64,
}

/// One export object being written.
pub struct S3Sink {
    client: Client,
    bucket: String,
    key: String,
    part_bytes: usize,
    buf: Vec<u8>,
    upload_id: Option<String>,
    parts: Vec<CompletedPart>,
    bytes: u64,
}

fn to_port(e: AwsError) -> PortError {
    e.into_port("writing the export to S3")
}

impl S3Sink {
    /// An object `key` in `bucket`, written in parts of [`PART_BYTES`].
    pub fn new(client: Client, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            key: key.into(),
            part_bytes: PART_BYTES,
            buf: Vec::new(),
            upload_id: None,
            parts: Vec::new(),
            bytes: 0,
        }
    }

    /// Parts of `bytes` (at least S3's minimum).
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes.max(MIN_PART_BYTES);
        self
    }

    async fn upload_part(&mut self) -> Result<(), AwsError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let out = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("S3", "CreateMultipartUpload", e))?;
                let id = out.upload_id.unwrap_or_default();
                self.upload_id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let body = std::mem::take(&mut self.buf);
        self.bytes += body.len() as u64;
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| AwsError::sdk("S3", "UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build(),
        );
        Ok(())
    }

    async fn complete(&mut self) -> Result<(), AwsError> {
        let Some(upload_id) = self.upload_id.clone() else {
            let body = std::mem::take(&mut self.buf);
            self.bytes += body.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| AwsError::sdk("S3", "PutObject", e))?;
            return Ok(());
        };
        if !self.buf.is_empty() {
            self.upload_part().await?;
        }
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(self.parts.clone()))
                    .build(),
            )
            .send()
            .await
            .map_err(|e| AwsError::sdk("S3", "CompleteMultipartUpload", e))?;
        Ok(())
    }

    /// Writes what is left and completes the object.
    pub async fn finish(mut self) -> Result<S3Object, PortError> {
        if let Err(e) = self.complete().await {
            self.abort().await;
            return Err(to_port(e));
        }
        Ok(S3Object {
            parts: self.parts.len().max(1),
            bucket: self.bucket,
            key: self.key,
            bytes: self.bytes,
        })
    }

    /// Gives up: a multipart upload begun is aborted (best effort), nothing is left.
    pub async fn abort(self) {
        if let Some(upload_id) = self.upload_id {
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(&self.key)
                .upload_id(upload_id)
                .send()
                .await;
            if let Err(e) = aborted {
                tracing::warn!(bucket = %self.bucket, key = %self.key, error = %e, "the export's multipart upload was not aborted; S3's lifecycle rule must clean it");
            }
        }
    }
}

#[async_trait]
impl ExportSink for S3Sink {
    async fn write(&mut self, bytes: &[u8]) -> Result<(), PortError> {
        self.buf.extend_from_slice(bytes);
        while self.buf.len() >= self.part_bytes {
            let rest = self.buf.split_off(self.part_bytes);
            if let Err(e) = self.upload_part().await {
                return Err(to_port(e));
            }
            self.buf = rest;
        }
        Ok(())
    }
}
