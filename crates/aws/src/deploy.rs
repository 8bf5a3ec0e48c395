//! `deploy` and `teardown`: an artifacts bucket, the bootstrap zip in it, and a CloudFormation
//! stack from [`Template`]; and the way back, leaving nothing behind.
//!
//! ## What deploy records, so that teardown (maybe another process, days later) can undo it
//! The stack carries tags (CloudFormation copies stack tags to the resources it creates, and they
//! survive a failed creation, since the stack itself remains in `ROLLBACK_COMPLETE`):
//! - `lambda-stream:stack` = the stack name (the template also tags its resources with it);
//! - `lambda-stream:artifact` = `s3://BUCKET/KEY` of the zip the function runs;
//! - `lambda-stream:bucket-created` = whether lambda-stream created that bucket.
//!
//! A bucket deploy creates is itself tagged `lambda-stream:managed = true`; teardown deletes it once
//! no object is left in it (other stacks may share it). Objects are named `STACK/SHA256.zip`, so an
//! unchanged zip gives an unchanged stack, and teardown removes everything under `STACK/`.
//!
//! ## Waiting
//! CloudFormation is asynchronous: after CreateStack/UpdateStack/DeleteStack we poll
//! DescribeStackEvents (the new events, oldest first, go to the progress callback) then
//! DescribeStacks, until the stack reaches a terminal status (CloudFormation user guide, "Stack
//! status codes"). The poll interval is a parameter so tests run without sleeping.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudformation::types::{Capability, Parameter, ResourceStatus, Stack, StackStatus, Tag};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tagging};

use crate::error::aws;
use crate::package::Arch;
use crate::template::{
    FUNCTION_URL, OUTPUT_API_URL, OUTPUT_FUNCTION_ARN, OUTPUT_FUNCTION_NAME, PARAM_API_GATEWAY, PARAM_API_GATEWAY_AUTH,
    PARAM_STAGE_NAME, Template,
};
use crate::{Clients, Error};

/// Tag key naming the stack, on the stack and every resource.
pub const TAG_STACK: &str = "lambda-stream:stack";
/// Stack tag: `s3://BUCKET/KEY` of the deployed zip.
pub const TAG_ARTIFACT: &str = "lambda-stream:artifact";
/// Stack tag: `true` when lambda-stream created the artifacts bucket.
pub const TAG_BUCKET_CREATED: &str = "lambda-stream:bucket-created";
/// Bucket tag on buckets lambda-stream created.
pub const TAG_MANAGED: &str = "lambda-stream:managed";
/// Prefix of every tag this tool sets; `teardown --all-tagged` sweeps stacks carrying one.
pub const TAG_PREFIX: &str = "lambda-stream:";
/// Prefix of the default artifacts bucket (`lambda-stream-artifacts-ACCOUNT-REGION`).
pub const BUCKET_PREFIX: &str = "lambda-stream-artifacts-";

/// What to deploy.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    /// The stack name (also the default function-name prefix).
    pub stack: String,
    /// The bootstrap zip (`lambda-stream package`).
    pub zip: PathBuf,
    /// An existing bucket to upload to; default: `lambda-stream-artifacts-ACCOUNT-REGION`,
    /// created when missing.
    pub bucket: Option<String>,
    /// Architecture the zip was built for.
    pub arch: Arch,
    /// Memory in MB.
    pub memory_mb: u32,
    /// Timeout in seconds.
    pub timeout_secs: u32,
    /// An IAM role to attach the invoke policy to.
    pub caller_role: Option<String>,
    /// Also deploy an API Gateway REST API in front of the function (alongside the function URL):
    /// `ANY` on `/` and `/{proxy+}`, a Lambda proxy integration in `STREAM` mode. `None`: none (a
    /// later deploy without it removes one deployed before).
    pub api_gateway: Option<RestApiOptions>,
    /// The template (the standard one, or a variant for local stand-ins).
    pub template: Template,
    /// Pause between two polls while waiting.
    pub poll_interval: Duration,
    /// Give up waiting after this long.
    pub max_wait: Duration,
}

impl DeployOptions {
    /// Defaults: x86_64, 128 MB, 15 s, the standard template, polling every 3 s for at most 30 min.
    pub fn new(stack: impl Into<String>, zip: impl Into<PathBuf>) -> Self {
        Self {
            stack: stack.into(),
            zip: zip.into(),
            bucket: None,
            arch: Arch::X86_64,
            memory_mb: 128,
            timeout_secs: 15,
            caller_role: None,
            api_gateway: None,
            template: Template::standard(),
            poll_interval: Duration::from_secs(3),
            max_wait: Duration::from_secs(30 * 60),
        }
    }
}

/// The REST API `deploy --front api-gateway` puts in front of the function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestApiOptions {
    /// The stage name (letters, digits, `-`, `_`). Default `prod`.
    pub stage: String,
    /// Methods with `AWS_IAM` authorization (callers sign for `execute-api`); `false`: `NONE`,
    /// anyone with the URL may call. Default `true`.
    pub iam: bool,
}

impl Default for RestApiOptions {
    fn default() -> Self {
        Self { stage: "prod".into(), iam: true }
    }
}

/// The uploaded zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Bucket.
    pub bucket: String,
    /// Key (`STACK/SHA256.zip`).
    pub key: String,
    /// Whether lambda-stream created the bucket (now or earlier).
    pub bucket_created: bool,
}

impl Artifact {
    fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn parse(uri: &str, bucket_created: bool) -> Option<Self> {
        let (bucket, key) = uri.strip_prefix("s3://")?.split_once('/')?;
        Some(Self { bucket: bucket.into(), key: key.into(), bucket_created })
    }
}

/// What a deploy did to the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackAction {
    /// The stack was created.
    Created,
    /// The stack was updated.
    Updated,
    /// Nothing changed (same zip, same parameters).
    Unchanged,
}

/// A deployed stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployment {
    /// The stack name.
    pub stack: String,
    /// The zip the function runs.
    pub artifact: Artifact,
    /// Created, updated or unchanged.
    pub action: StackAction,
    /// The stack's outputs (`FunctionUrl`, `FunctionName`, `FunctionArn`, `InvokePolicyArn`).
    pub outputs: BTreeMap<String, String>,
}

impl Deployment {
    /// The function's name.
    pub fn function_name(&self) -> Result<&str, Error> {
        self.output(OUTPUT_FUNCTION_NAME)
    }

    /// The function's ARN.
    pub fn function_arn(&self) -> Result<&str, Error> {
        self.output(OUTPUT_FUNCTION_ARN)
    }

    /// The function URL.
    pub fn function_url(&self) -> Result<&str, Error> {
        self.output(FUNCTION_URL)
    }

    /// The REST API stage's invoke URL, when the stack has a REST API.
    pub fn api_url(&self) -> Result<&str, Error> {
        self.output(OUTPUT_API_URL)
    }

    fn output(&self, key: &'static str) -> Result<&str, Error> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::MissingOutput { stack: self.stack.clone(), output: key.to_owned() })
    }

    /// What teardown has to remove.
    pub fn cleanup(&self) -> Cleanup {
        Cleanup { stack: self.stack.clone(), artifact: Some(self.artifact.clone()) }
    }
}

/// What to remove: a stack (its tags name its artifacts) and, when known, an artifact that may not
/// be recorded on a stack yet (an upload whose stack was never created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleanup {
    /// The stack name.
    pub stack: String,
    /// An artifact to remove as well.
    pub artifact: Option<Artifact>,
}

/// A deploy that failed, with what it left behind.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct DeployError {
    /// Why it failed.
    #[source]
    pub error: Error,
    /// What to tear down; `None` when nothing was created yet.
    pub cleanup: Option<Cleanup>,
    /// Whether this deploy created the stack (so tearing it down loses nothing older).
    pub stack_created_now: bool,
}

impl DeployError {
    /// A failure before anything was created.
    fn nothing_created(error: Error) -> Self {
        Self { error, cleanup: None, stack_created_now: false }
    }
}

/// What a teardown removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// The stack, when it existed and was deleted.
    pub stack_deleted: Option<String>,
    /// `s3://BUCKET/KEY` of each deleted object.
    pub objects_deleted: Vec<String>,
    /// The bucket, when it was lambda-stream's and became empty.
    pub bucket_deleted: Option<String>,
}

/// One step of progress while deploying or tearing down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// A step of ours (`uploading s3://...`).
    Step(String),
    /// A CloudFormation stack event.
    Resource {
        /// Logical id in the template (or the stack's name for the stack itself).
        logical_id: String,
        /// Resource type (`AWS::Lambda::Function`).
        resource_type: String,
        /// Status (`CREATE_COMPLETE`).
        status: ResourceStatus,
        /// Reason, for failures.
        reason: Option<String>,
    },
}

/// The resource type CloudFormation gives the stack's own events.
pub const STACK_RESOURCE_TYPE: &str = "AWS::CloudFormation::Stack";

impl Progress {
    /// A resource of the template (not the stack itself) finished an operation: one step of a
    /// deploy or teardown done.
    pub fn finishes_a_resource(&self) -> bool {
        matches!(self, Progress::Resource { resource_type, status, .. }
            if resource_type != STACK_RESOURCE_TYPE && resource_complete(status))
    }
}

/// Deploys and tears down with one set of [`Clients`].
#[derive(Debug, Clone)]
pub struct Deployer {
    clients: Clients,
    poll_interval: Duration,
    max_wait: Duration,
}

impl Deployer {
    /// A deployer on these clients, polling every 3 s for at most 30 minutes.
    pub fn new(clients: Clients) -> Self {
        Self { clients, poll_interval: Duration::from_secs(3), max_wait: Duration::from_secs(30 * 60) }
    }

    /// Sets the polling of teardown's waits (deploy takes it from [`DeployOptions`]).
    pub fn polling(mut self, interval: Duration, max_wait: Duration) -> Self {
        self.poll_interval = interval;
        self.max_wait = max_wait;
        self
    }

    /// The clients.
    pub fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Uploads the zip and creates or updates the stack, reporting each step and stack event.
    ///
    /// Phases: refuse a stack that cannot be updated (before uploading anything), upload, create
    /// or update, wait for the stack to settle, then remove the zip the function no longer runs.
    pub async fn deploy(
        &self,
        options: &DeployOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Deployment, DeployError> {
        let existing = self.updatable_stack(options).await?;
        let artifact = self.upload(options, progress).await.map_err(DeployError::nothing_created)?;
        let created = existing.is_none();
        let fail = |error| DeployError {
            error,
            cleanup: Some(Cleanup { stack: options.stack.clone(), artifact: Some(artifact.clone()) }),
            stack_created_now: created,
        };
        let previous = existing.as_ref().and_then(|s| tag(s, TAG_ARTIFACT)).map(str::to_owned);
        let started = SystemTime::now();
        let action = match &existing {
            None => self.create_stack(options, &artifact).await.map(|()| StackAction::Created),
            Some(_) => self.update_stack(options, &artifact).await,
        }
        .map_err(fail)?;
        if action != StackAction::Unchanged {
            self.settle(options, started, progress).await.map_err(fail)?;
        }
        let stack = self
            .describe_stack(&options.stack)
            .await
            .and_then(|s| s.ok_or_else(|| Error::Invalid(format!("stack {} vanished after deploying", options.stack))))
            .map_err(fail)?;
        // The previous zip is no longer used by the function: remove it.
        if let Some(old) = previous.filter(|old| *old != artifact.uri())
            && let Some(old) = Artifact::parse(&old, artifact.bucket_created)
        {
            self.remove_artifact(&old, progress).await.map_err(fail)?;
        }
        Ok(Deployment { stack: options.stack.clone(), artifact, action, outputs: outputs(&stack) })
    }

    /// The existing stack, if any, when it can be updated; refuses one that must be deleted first
    /// or is busy.
    async fn updatable_stack(&self, options: &DeployOptions) -> Result<Option<Stack>, DeployError> {
        let existing = self.describe_stack(&options.stack).await.map_err(DeployError::nothing_created)?;
        let Some(status) = existing.as_ref().map(status_of) else { return Ok(existing) };
        if needs_delete(&status) {
            return Err(DeployError {
                error: Error::StackNeedsDelete { stack: options.stack.clone(), status },
                cleanup: Some(Cleanup { stack: options.stack.clone(), artifact: None }),
                stack_created_now: false,
            });
        }
        if in_progress(&status) {
            return Err(DeployError::nothing_created(Error::Invalid(format!(
                "stack {} is busy ({status}); wait for it to finish, then deploy again",
                options.stack
            ))));
        }
        Ok(existing)
    }

    /// Waits for a create or update started at `started` to end, and fails unless it succeeded.
    async fn settle(
        &self,
        options: &DeployOptions,
        started: SystemTime,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(), Error> {
        let stack = &options.stack;
        match self.wait(stack, started, options.poll_interval, options.max_wait, progress).await? {
            Some(done) if is_success(&done) => Ok(()),
            Some(done) => {
                let reasons = self.failure_reasons(stack, started).await;
                Err(Error::StackFailed { stack: stack.clone(), status: status_of(&done), reasons })
            }
            None => Err(Error::StackFailed {
                stack: stack.clone(),
                status: StackStatus::DeleteComplete,
                reasons: "the stack disappeared while being deployed".into(),
            }),
        }
    }

    async fn remove_artifact(
        &self,
        artifact: &Artifact,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(), Error> {
        progress(Progress::Step(format!("removing the previous zip {}", artifact.uri())));
        self.clients
            .s3
            .delete_object()
            .bucket(&artifact.bucket)
            .key(&artifact.key)
            .send()
            .await
            .map_err(aws("DeleteObject"))?;
        Ok(())
    }

    /// Creates the artifacts bucket when needed and uploads the zip as `STACK/SHA256.zip`.
    async fn upload(
        &self,
        options: &DeployOptions,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Artifact, Error> {
        let body = tokio::fs::read(&options.zip).await.map_err(|source| Error::Io {
            action: "reading the zip",
            path: options.zip.clone(),
            source,
        })?;
        let sha = crate::package::hex(&<sha2::Sha256 as sha2::Digest>::digest(&body));
        let (bucket, bucket_created) = match &options.bucket {
            Some(bucket) => (bucket.clone(), self.given_bucket(bucket).await?),
            None => self.default_bucket(&options.stack, progress).await?,
        };
        let key = format!("{}/{sha}.zip", options.stack);
        progress(Progress::Step(format!("uploading {} to s3://{bucket}/{key}", options.zip.display())));
        self.clients
            .s3
            .put_object()
            .bucket(&bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .tagging(format!("{TAG_STACK}={}", options.stack).replace(':', "%3A"))
            .send()
            .await
            .map_err(aws("PutObject"))?;
        Ok(Artifact { bucket, key, bucket_created })
    }

    /// Checks that a bucket given with `--bucket` exists and is the caller's; whether
    /// lambda-stream created it.
    async fn given_bucket(&self, bucket: &str) -> Result<bool, Error> {
        self.clients.s3.head_bucket().bucket(bucket).send().await.map_err(|e| {
            match e.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => {
                    Error::Invalid(format!("bucket {bucket} does not exist: create it, or leave out --bucket"))
                }
                Some(403) => Error::Invalid(format!("bucket {bucket} is not yours (403): pass a bucket you own")),
                _ => aws("HeadBucket")(e),
            }
        })?;
        self.is_managed(bucket).await
    }

    /// `lambda-stream-artifacts-ACCOUNT-REGION`, created (and tagged) when missing; whether
    /// lambda-stream created it.
    async fn default_bucket(
        &self,
        stack: &str,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<(String, bool), Error> {
        let account = self
            .clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(aws("GetCallerIdentity"))?
            .account
            .unwrap_or_default();
        let bucket = format!("{BUCKET_PREFIX}{account}-{}", self.clients.region());
        match self.clients.s3.head_bucket().bucket(&bucket).send().await {
            Ok(_) => {
                progress(Progress::Step(format!("reusing bucket {bucket}")));
                let managed = self.is_managed(&bucket).await?;
                Ok((bucket, managed))
            }
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                progress(Progress::Step(format!("creating bucket {bucket}")));
                self.create_bucket(&bucket, stack).await?;
                Ok((bucket, true))
            }
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 403) => Err(Error::Invalid(format!(
                "bucket {bucket} belongs to another account (403): pass --bucket with a bucket you own"
            ))),
            Err(e) => Err(aws("HeadBucket")(e)),
        }
    }

    async fn create_bucket(&self, bucket: &str, stack: &str) -> Result<(), Error> {
        let s3 = &self.clients.s3;
        let mut request = s3.create_bucket().bucket(bucket);
        // us-east-1 is the default location and must not be named (S3 API reference, CreateBucket).
        let region = self.clients.region();
        if region != "us-east-1" {
            request = request.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        request.send().await.map_err(aws("CreateBucket"))?;
        let tagging = Tagging::builder()
            .tag_set(s3_tag(TAG_MANAGED, "true")?)
            .tag_set(s3_tag(TAG_STACK, stack)?)
            .build()
            .map_err(|e| Error::Invalid(e.to_string()))?;
        s3.put_bucket_tagging().bucket(bucket).tagging(tagging).send().await.map_err(aws("PutBucketTagging"))?;
        Ok(())
    }

    async fn is_managed(&self, bucket: &str) -> Result<bool, Error> {
        match self.clients.s3.get_bucket_tagging().bucket(bucket).send().await {
            Ok(tags) => Ok(tags.tag_set().iter().any(|t| t.key() == TAG_MANAGED && t.value() == "true")),
            // NoSuchTagSet: a bucket without tags is not ours.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(false),
            Err(e) => Err(aws("GetBucketTagging")(e)),
        }
    }

    fn parameters(options: &DeployOptions, artifact: &Artifact) -> Vec<Parameter> {
        let p = |k: &str, v: String| Parameter::builder().parameter_key(k).parameter_value(v).build();
        vec![
            p("CodeBucket", artifact.bucket.clone()),
            p("CodeKey", artifact.key.clone()),
            p("Architecture", options.arch.lambda_name().into()),
            p("MemorySize", options.memory_mb.to_string()),
            p("Timeout", options.timeout_secs.to_string()),
            p("CallerRoleName", options.caller_role.clone().unwrap_or_default()),
            p(PARAM_API_GATEWAY, options.api_gateway.is_some().to_string()),
            p(PARAM_API_GATEWAY_AUTH, api_gateway_auth(options).into()),
            p(PARAM_STAGE_NAME, options.api_gateway.as_ref().map_or_else(|| "prod".to_owned(), |a| a.stage.clone())),
        ]
        .into_iter()
        // Only what the template declares: CloudFormation refuses a parameter it does not know,
        // and the conformance template has no REST API parameters.
        .filter(|param| {
            param.parameter_key().is_some_and(|key| options.template.document()["Parameters"].get(key).is_some())
        })
        .collect()
    }

    fn tags(options: &DeployOptions, artifact: &Artifact) -> Vec<Tag> {
        let t = |k: &str, v: String| Tag::builder().key(k).value(v).build();
        vec![
            t(TAG_STACK, options.stack.clone()),
            t(TAG_ARTIFACT, artifact.uri()),
            t(TAG_BUCKET_CREATED, artifact.bucket_created.to_string()),
        ]
    }

    async fn create_stack(&self, options: &DeployOptions, artifact: &Artifact) -> Result<(), Error> {
        self.clients
            .cloudformation
            .create_stack()
            .stack_name(&options.stack)
            .template_body(options.template.body())
            .set_parameters(Some(Self::parameters(options, artifact)))
            .set_tags(Some(Self::tags(options, artifact)))
            .capabilities(Capability::CapabilityIam)
            .send()
            .await
            .map_err(aws("CreateStack"))?;
        Ok(())
    }

    async fn update_stack(&self, options: &DeployOptions, artifact: &Artifact) -> Result<StackAction, Error> {
        let result = self
            .clients
            .cloudformation
            .update_stack()
            .stack_name(&options.stack)
            .template_body(options.template.body())
            .set_parameters(Some(Self::parameters(options, artifact)))
            .set_tags(Some(Self::tags(options, artifact)))
            .capabilities(Capability::CapabilityIam)
            .send()
            .await;
        match result {
            Ok(_) => Ok(StackAction::Updated),
            // CloudFormation answers a ValidationError for an update that changes nothing.
            Err(e) if crate::error::describe_sdk(&e).contains("No updates are to be performed") => {
                Ok(StackAction::Unchanged)
            }
            Err(e) => Err(aws("UpdateStack")(e)),
        }
    }

    /// The stack, or `None` when it does not exist (CloudFormation answers a ValidationError
    /// "Stack with id X does not exist").
    pub async fn describe_stack(&self, stack: &str) -> Result<Option<Stack>, Error> {
        match self.clients.cloudformation.describe_stacks().stack_name(stack).send().await {
            Ok(out) => Ok(out.stacks.unwrap_or_default().into_iter().next()),
            Err(e) if crate::error::describe_sdk(&e).contains("does not exist") => Ok(None),
            Err(e) => Err(aws("DescribeStacks")(e)),
        }
    }

    /// Polls events and status until the stack is in a terminal state (`None`: it is gone).
    async fn wait(
        &self,
        stack: &str,
        since: SystemTime,
        interval: Duration,
        max_wait: Duration,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Option<Stack>, Error> {
        let started = Instant::now();
        let mut seen = HashSet::new();
        loop {
            for event in self.new_events(stack, since, &mut seen).await? {
                progress(event);
            }
            let Some(current) = self.describe_stack(stack).await? else { return Ok(None) };
            let status = status_of(&current);
            if !in_progress(&status) {
                return Ok(Some(current));
            }
            if started.elapsed() > max_wait {
                return Err(Error::StackTimeout {
                    stack: stack.into(),
                    status,
                    waited_secs: started.elapsed().as_secs(),
                });
            }
            tokio::time::sleep(interval).await;
        }
    }

    /// Stack events newer than `since` not seen before, oldest first.
    async fn new_events(
        &self,
        stack: &str,
        since: SystemTime,
        seen: &mut HashSet<String>,
    ) -> Result<Vec<Progress>, Error> {
        let out = match self.clients.cloudformation.describe_stack_events().stack_name(stack).send().await {
            Ok(out) => out,
            Err(e) if crate::error::describe_sdk(&e).contains("does not exist") => return Ok(Vec::new()),
            Err(e) => return Err(aws("DescribeStackEvents")(e)),
        };
        let since_secs = since.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        let mut fresh = Vec::new();
        // Newest first on the wire.
        for event in out.stack_events().iter().rev() {
            let Some(id) = event.event_id() else { continue };
            // Whole seconds: CloudFormation's clock and ours may disagree by a fraction.
            if event.timestamp().is_some_and(|t| t.secs() < since_secs - 1) || !seen.insert(id.to_owned()) {
                continue;
            }
            fresh.push(Progress::Resource {
                logical_id: event.logical_resource_id().unwrap_or_default().to_owned(),
                resource_type: event.resource_type().unwrap_or_default().to_owned(),
                status: event.resource_status().cloned().unwrap_or_else(|| ResourceStatus::from(NO_STATUS)),
                reason: event.resource_status_reason().map(str::to_owned),
            });
        }
        Ok(fresh)
    }

    async fn failure_reasons(&self, stack: &str, since: SystemTime) -> String {
        let mut seen = HashSet::new();
        let reasons: Vec<String> = match self.new_events(stack, since, &mut seen).await {
            Ok(events) => events
                .into_iter()
                .filter_map(|e| match e {
                    Progress::Resource { logical_id, status, reason: Some(reason), .. } if resource_failed(&status) => {
                        Some(format!("{logical_id} {status}: {reason}"))
                    }
                    _ => None,
                })
                .collect(),
            Err(e) => vec![format!("(could not read the stack events: {e})")],
        };
        if reasons.is_empty() { "no reason reported; see the stack's events".into() } else { reasons.join("; ") }
    }

    /// Deletes the stack (when it exists) and its artifacts, then the bucket when lambda-stream
    /// created it and it is empty.
    pub async fn teardown(
        &self,
        cleanup: &Cleanup,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<TeardownReport, Error> {
        let mut report = TeardownReport::default();
        let mut artifacts: Vec<Artifact> = cleanup.artifact.iter().cloned().collect();
        if let Some(stack) = self.describe_stack(&cleanup.stack).await? {
            let created = tag(&stack, TAG_BUCKET_CREATED) == Some("true");
            if let Some(artifact) = tag(&stack, TAG_ARTIFACT).and_then(|uri| Artifact::parse(uri, created)) {
                artifacts.push(artifact);
            }
            progress(Progress::Step(format!("deleting stack {}", cleanup.stack)));
            let since = SystemTime::now();
            self.clients
                .cloudformation
                .delete_stack()
                .stack_name(&cleanup.stack)
                .send()
                .await
                .map_err(aws("DeleteStack"))?;
            if let Some(stack) = self.wait(&cleanup.stack, since, self.poll_interval, self.max_wait, progress).await? {
                let status = status_of(&stack);
                if status != StackStatus::DeleteComplete {
                    let reasons = self.failure_reasons(&cleanup.stack, since).await;
                    return Err(Error::StackFailed { stack: cleanup.stack.clone(), status, reasons });
                }
            }
            report.stack_deleted = Some(cleanup.stack.clone());
        }
        let mut buckets: Vec<(String, bool)> = Vec::new();
        for artifact in &artifacts {
            if !buckets.iter().any(|(b, _)| *b == artifact.bucket) {
                buckets.push((artifact.bucket.clone(), artifact.bucket_created));
            }
        }
        for (bucket, created) in buckets {
            let prefix = format!("{}/", cleanup.stack);
            let deleted = self.delete_objects(&bucket, Some(&prefix), progress).await?;
            report.objects_deleted.extend(deleted);
            if created && self.is_managed(&bucket).await.unwrap_or(false) && self.is_empty(&bucket).await? {
                progress(Progress::Step(format!("deleting bucket {bucket} (empty, created by lambda-stream)")));
                self.clients.s3.delete_bucket().bucket(&bucket).send().await.map_err(aws("DeleteBucket"))?;
                report.bucket_deleted = Some(bucket);
            }
        }
        Ok(report)
    }

    async fn delete_objects(
        &self,
        bucket: &str,
        prefix: Option<&str>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<String>, Error> {
        let s3 = &self.clients.s3;
        let mut deleted = Vec::new();
        let listed = match s3.list_objects_v2().bucket(bucket).set_prefix(prefix.map(str::to_owned)).send().await {
            Ok(listed) => listed,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => return Ok(deleted),
            Err(e) => return Err(aws("ListObjectsV2")(e)),
        };
        for object in listed.contents() {
            let Some(key) = object.key() else { continue };
            progress(Progress::Step(format!("deleting s3://{bucket}/{key}")));
            s3.delete_object().bucket(bucket).key(key).send().await.map_err(aws("DeleteObject"))?;
            deleted.push(format!("s3://{bucket}/{key}"));
        }
        Ok(deleted)
    }

    async fn is_empty(&self, bucket: &str) -> Result<bool, Error> {
        let listed =
            self.clients.s3.list_objects_v2().bucket(bucket).max_keys(1).send().await.map_err(aws("ListObjectsV2"))?;
        Ok(listed.contents().is_empty())
    }

    /// `teardown --all-tagged`: tears down every stack carrying a `lambda-stream:` tag (only those
    /// whose name starts with `name_prefix`, when given), then, without a prefix, empties and
    /// deletes every bucket tagged `lambda-stream:managed`. With a prefix, buckets go only through
    /// the stacks' own teardowns (when they become empty), so other stacks' zips are kept.
    pub async fn sweep(
        &self,
        name_prefix: Option<&str>,
        progress: &mut (dyn FnMut(Progress) + Send),
    ) -> Result<Vec<TeardownReport>, Error> {
        let mut names = Vec::new();
        let mut token = None;
        loop {
            let out = self
                .clients
                .cloudformation
                .describe_stacks()
                .set_next_token(token)
                .send()
                .await
                .map_err(aws("DescribeStacks"))?;
            for stack in out.stacks() {
                let tagged = stack.tags().iter().any(|t| t.key().is_some_and(|k| k.starts_with(TAG_PREFIX)));
                let deleted = stack.stack_status() == Some(&StackStatus::DeleteComplete);
                let chosen = stack.stack_name().is_some_and(|n| name_prefix.is_none_or(|p| n.starts_with(p)));
                if tagged
                    && !deleted
                    && chosen
                    && let Some(name) = stack.stack_name()
                {
                    names.push(name.to_owned());
                }
            }
            token = out.next_token;
            if token.is_none() {
                break;
            }
        }
        let mut reports = Vec::new();
        for name in names {
            reports.push(self.teardown(&Cleanup { stack: name, artifact: None }, progress).await?);
        }
        if name_prefix.is_some() {
            return Ok(reports);
        }
        let buckets = self.clients.s3.list_buckets().send().await.map_err(aws("ListBuckets"))?;
        for bucket in buckets.buckets() {
            let Some(name) = bucket.name() else { continue };
            if !self.is_managed(name).await? {
                continue;
            }
            let deleted = self.delete_objects(name, None, progress).await?;
            progress(Progress::Step(format!("deleting bucket {name} (tagged {TAG_MANAGED})")));
            self.clients.s3.delete_bucket().bucket(name).send().await.map_err(aws("DeleteBucket"))?;
            reports.push(TeardownReport {
                stack_deleted: None,
                objects_deleted: deleted,
                bucket_deleted: Some(name.into()),
            });
        }
        Ok(reports)
    }
}

fn s3_tag(key: &str, value: &str) -> Result<aws_sdk_s3::types::Tag, Error> {
    aws_sdk_s3::types::Tag::builder().key(key).value(value).build().map_err(|e| Error::Invalid(e.to_string()))
}

fn tag<'a>(stack: &'a Stack, key: &str) -> Option<&'a str> {
    stack.tags().iter().find(|t| t.key() == Some(key)).and_then(|t| t.value())
}

/// The stack's outputs, by key.
fn outputs(stack: &Stack) -> BTreeMap<String, String> {
    stack.outputs().iter().filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned()))).collect()
}

/// The `ApiGatewayAuth` parameter: `AWS_IAM` unless the REST API is asked for without IAM.
fn api_gateway_auth(options: &DeployOptions) -> &'static str {
    match &options.api_gateway {
        Some(RestApiOptions { iam: false, .. }) => "NONE",
        _ => "AWS_IAM",
    }
}

/// Stands for a status CloudFormation did not send (it always does: the field is required).
const NO_STATUS: &str = "(no status)";

fn status_of(stack: &Stack) -> StackStatus {
    stack.stack_status().cloned().unwrap_or_else(|| StackStatus::from(NO_STATUS))
}

/// Statuses from which a stack cannot be updated, only deleted (CloudFormation user guide,
/// "Stack status codes": a stack whose creation failed stays in ROLLBACK_COMPLETE).
fn needs_delete(status: &StackStatus) -> bool {
    matches!(
        status,
        StackStatus::RollbackComplete
            | StackStatus::RollbackFailed
            | StackStatus::CreateFailed
            | StackStatus::DeleteFailed
    )
}

/// The stack is still changing: wait. A status newer than this SDK counts by its name, as
/// CloudFormation names every transitional status `..._IN_PROGRESS` (user guide, "Stack status
/// codes").
fn in_progress(status: &StackStatus) -> bool {
    match status {
        StackStatus::CreateInProgress
        | StackStatus::DeleteInProgress
        | StackStatus::ImportInProgress
        | StackStatus::ImportRollbackInProgress
        | StackStatus::ReviewInProgress
        | StackStatus::RollbackInProgress
        | StackStatus::UpdateCompleteCleanupInProgress
        | StackStatus::UpdateInProgress
        | StackStatus::UpdateRollbackCompleteCleanupInProgress
        | StackStatus::UpdateRollbackInProgress => true,
        other => StackStatus::try_parse(other.as_str()).is_err() && other.as_str().ends_with("_IN_PROGRESS"),
    }
}

fn is_success(stack: &Stack) -> bool {
    matches!(stack.stack_status(), Some(StackStatus::CreateComplete | StackStatus::UpdateComplete))
}

/// A resource event that reports a failure (a status newer than this SDK counts by its
/// `..._FAILED` name).
fn resource_failed(status: &ResourceStatus) -> bool {
    match status {
        ResourceStatus::CreateFailed
        | ResourceStatus::DeleteFailed
        | ResourceStatus::ExportFailed
        | ResourceStatus::ExportRollbackFailed
        | ResourceStatus::ImportFailed
        | ResourceStatus::ImportRollbackFailed
        | ResourceStatus::RollbackFailed
        | ResourceStatus::UpdateFailed
        | ResourceStatus::UpdateRollbackFailed => true,
        other => ResourceStatus::try_parse(other.as_str()).is_err() && other.as_str().ends_with("_FAILED"),
    }
}

/// A resource event that reports an operation finished (a status newer than this SDK counts by
/// its `..._COMPLETE` name).
fn resource_complete(status: &ResourceStatus) -> bool {
    match status {
        ResourceStatus::CreateComplete
        | ResourceStatus::DeleteComplete
        | ResourceStatus::ExportComplete
        | ResourceStatus::ExportRollbackComplete
        | ResourceStatus::ImportComplete
        | ResourceStatus::ImportRollbackComplete
        | ResourceStatus::RollbackComplete
        | ResourceStatus::UpdateComplete
        | ResourceStatus::UpdateRollbackComplete => true,
        other => ResourceStatus::try_parse(other.as_str()).is_err() && other.as_str().ends_with("_COMPLETE"),
    }
}

/// Tears a stack down when dropped, also when the code that deployed it panicked halfway: the
/// drop guard of every test and tool that creates real stacks (live AWS, LocalStack). Drop cannot
/// be async, so the teardown runs on a runtime of its own on another thread, and the guard waits
/// for it; a failure is logged with the command that sweeps what is left.
#[derive(Debug)]
pub struct TeardownGuard {
    /// Who tears down.
    pub deployer: Deployer,
    /// What to tear down; `None` once there is nothing (or nothing yet).
    pub cleanup: Option<Cleanup>,
}

impl Drop for TeardownGuard {
    fn drop(&mut self) {
        let Some(cleanup) = self.cleanup.take() else { return };
        let deployer = self.deployer.clone();
        let stack = cleanup.stack.clone();
        let torn = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start a runtime for the teardown: {e}"))?;
            runtime.block_on(deployer.teardown(&cleanup, &mut |_| {})).map_err(|e| e.to_string())
        })
        .join()
        .unwrap_or_else(|_| Err("the teardown thread panicked".to_owned()));
        match torn {
            Ok(report) => tracing::info!("torn down: {report:?}"),
            Err(e) => tracing::error!(
                "TEARDOWN FAILED for {stack}: {e}; sweep with: lambda-stream teardown --all-tagged --name-prefix {stack} --yes"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_the_ones_the_template_declares() {
        let artifact = Artifact { bucket: "b".into(), key: "s/abc.zip".into(), bucket_created: false };
        let keys = |options: &DeployOptions| {
            Deployer::parameters(options, &artifact)
                .iter()
                .filter_map(|p| p.parameter_key().map(str::to_owned))
                .collect::<Vec<_>>()
        };
        let mut options = DeployOptions::new("s", "a.zip");
        assert!(keys(&options).contains(&PARAM_API_GATEWAY.to_owned()), "{:?}", keys(&options));
        // The conformance stack has no REST API: CloudFormation would refuse its parameters.
        options.template = Template::conformance();
        assert_eq!(
            keys(&options),
            ["CodeBucket", "CodeKey", "Architecture", "MemorySize", "Timeout", "CallerRoleName"]
        );
    }

    #[test]
    fn artifacts_round_trip_through_their_tag() {
        let a = Artifact { bucket: "b".into(), key: "stack/abc.zip".into(), bucket_created: true };
        assert_eq!(Artifact::parse(&a.uri(), true), Some(a));
        assert_eq!(Artifact::parse("https://x", true), None);
    }

    #[test]
    fn failed_creations_must_be_deleted_before_deploying_again() {
        assert!(needs_delete(&StackStatus::RollbackComplete));
        assert!(
            !needs_delete(&StackStatus::UpdateRollbackComplete),
            "an update rollback leaves a working, updatable stack"
        );
        assert!(!needs_delete(&StackStatus::CreateComplete));
    }

    #[test]
    fn waiting_goes_on_while_a_status_is_in_progress_known_or_not() {
        assert!(in_progress(&StackStatus::UpdateCompleteCleanupInProgress));
        assert!(!in_progress(&StackStatus::UpdateRollbackComplete));
        assert!(!in_progress(&StackStatus::from(NO_STATUS)));
        // A status newer than the SDK is judged by CloudFormation's naming.
        assert!(in_progress(&StackStatus::from("EXPORT_IN_PROGRESS")));
        assert!(!in_progress(&StackStatus::from("EXPORT_COMPLETE")));
    }

    #[test]
    fn resource_events_are_told_apart_by_status() {
        assert!(resource_failed(&ResourceStatus::UpdateRollbackFailed));
        assert!(!resource_failed(&ResourceStatus::DeleteSkipped));
        assert!(resource_failed(&ResourceStatus::from("MOVE_FAILED")));
        let event = |resource_type: &str, status| Progress::Resource {
            logical_id: "Function".into(),
            resource_type: resource_type.into(),
            status,
            reason: None,
        };
        assert!(event("AWS::Lambda::Function", ResourceStatus::CreateComplete).finishes_a_resource());
        assert!(event("AWS::Lambda::Function", ResourceStatus::RollbackComplete).finishes_a_resource());
        assert!(!event("AWS::Lambda::Function", ResourceStatus::CreateInProgress).finishes_a_resource());
        assert!(!event(STACK_RESOURCE_TYPE, ResourceStatus::CreateComplete).finishes_a_resource());
    }
}
