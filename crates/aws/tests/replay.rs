//! deploy/teardown against recorded AWS responses (a replaying HTTP client, [`Replay`]): what moto
//! cannot show (per-resource stack events, the function URL output, a creation that
//! fails and rolls back, CloudFormation's "No updates" answer, a stack left in ROLLBACK_COMPLETE)
//! with the exact sequence of API calls asserted. No network: the replay client answers every call.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared as _;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use lambda_stream_aws::deploy::TAG_ARTIFACT;
use lambda_stream_aws::{
    AwsConfig, DeployOptions, Deployer, Error, Progress, ResourceStatus, StackAction, StackStatus,
};

const STACK: &str = "ls-replay";
const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";
const BUCKET: &str = "lambda-stream-artifacts-111122223333-eu-west-1";
const CFN_NS: &str = "http://cloudformation.amazonaws.com/doc/2010-05-15/";

/// One recorded answer: the operation it answers (a label for failure messages), status, body.
#[derive(Debug, Clone)]
struct ReplayEvent {
    label: String,
    status: u16,
    body: String,
}

/// One request the SDK sent, as the tests read it.
#[derive(Debug, Clone)]
struct Sent {
    method: String,
    uri: String,
    body: Vec<u8>,
}

/// The SDK's HTTP client for these tests: answers the calls in order with the recorded events and
/// keeps every request. (aws-smithy-http-client's replay client does the same behind its
/// `test-util` feature, which pulls a CBOR and protocol-test stack into every test build of the
/// workspace and turns on serde_json's `preserve_order` there, unlike in the release builds.)
#[derive(Debug, Clone)]
struct Replay(Arc<Mutex<(VecDeque<ReplayEvent>, Vec<Sent>)>>);

impl Replay {
    fn new(events: Vec<ReplayEvent>) -> Self {
        Self(Arc::new(Mutex::new((events.into(), Vec::new()))))
    }

    fn actual_requests(&self) -> Vec<Sent> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).1.clone()
    }
}

impl HttpConnector for Replay {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let sent = Sent {
            method: request.method().to_owned(),
            uri: request.uri().to_owned(),
            body: request.body().bytes().unwrap_or_default().to_vec(),
        };
        let answer = match state.0.pop_front() {
            None => Err(ConnectorError::other(
                format!("replay: no recorded answer left for {} {}", sent.method, sent.uri).into(),
                None,
            )),
            Some(event) => Ok(aws_smithy_runtime_api::http::Response::new(
                event.status.try_into().unwrap_or_else(|_| panic!("{}: status {}", event.label, event.status)),
                SdkBody::from(event.body),
            )),
        };
        state.1.push(sent);
        HttpConnectorFuture::ready(answer)
    }
}

impl HttpClient for Replay {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// The replay client matches calls by order; the label only names the answer (the actual
/// requests are checked by operation below).
fn event(label: &str, status: u16, body: impl Into<String>) -> ReplayEvent {
    ReplayEvent { label: label.to_owned(), status, body: body.into() }
}

fn cfn(operation: &str, result: &str) -> String {
    format!(
        "<{operation}Response xmlns=\"{CFN_NS}\"><{operation}Result>{result}</{operation}Result>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{operation}Response>"
    )
}

fn cfn_error(code: &str, message: &str) -> ReplayEvent {
    event(
        code,
        400,
        format!(
            "<ErrorResponse xmlns=\"{CFN_NS}\"><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>r</RequestId></ErrorResponse>"
        ),
    )
}

fn stack_missing() -> ReplayEvent {
    cfn_error("ValidationError", &format!("Stack with id {STACK} does not exist"))
}

fn stack(status: &str, tags: &[(&str, &str)], outputs: &[(&str, &str)]) -> ReplayEvent {
    let tags: String = tags.iter().map(|(k, v)| format!("<member><Key>{k}</Key><Value>{v}</Value></member>")).collect();
    let outputs: String = outputs
        .iter()
        .map(|(k, v)| format!("<member><OutputKey>{k}</OutputKey><OutputValue>{v}</OutputValue></member>"))
        .collect();
    event(
        "DescribeStacks",
        200,
        cfn(
            "DescribeStacks",
            &format!(
                "<Stacks><member><StackName>{STACK}</StackName><StackId>arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1</StackId>\
                 <CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>{status}</StackStatus>\
                 <Tags>{tags}</Tags><Outputs>{outputs}</Outputs></member></Stacks>"
            ),
        ),
    )
}

/// Stack events, given oldest first (the wire lists them newest first), stamped a little after
/// now so that they count as this operation's.
fn events(list: &[(&str, &str, &str, Option<&str>)]) -> ReplayEvent {
    let at = DateTime::from(SystemTime::now() + Duration::from_secs(5)).fmt(Format::DateTime).unwrap();
    let members: String = list
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (id, kind, status, reason))| {
            let reason =
                reason.map(|r| format!("<ResourceStatusReason>{r}</ResourceStatusReason>")).unwrap_or_default();
            format!(
                "<member><EventId>e{i}-{status}</EventId><StackName>{STACK}</StackName><StackId>s</StackId>\
                 <LogicalResourceId>{id}</LogicalResourceId><ResourceType>{kind}</ResourceType>\
                 <Timestamp>{at}</Timestamp><ResourceStatus>{status}</ResourceStatus>{reason}</member>"
            )
        })
        .collect();
    event("DescribeStackEvents", 200, cfn("DescribeStackEvents", &format!("<StackEvents>{members}</StackEvents>")))
}

fn caller_identity() -> ReplayEvent {
    event(
        "GetCallerIdentity",
        200,
        format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::{ACCOUNT}:user/ci</Arn><UserId>AIDA</UserId><Account>{ACCOUNT}</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        ),
    )
}

fn managed_tags() -> ReplayEvent {
    event(
        "GetBucketTagging",
        200,
        "<Tagging><TagSet><Tag><Key>lambda-stream:managed</Key><Value>true</Value></Tag></TagSet></Tagging>",
    )
}

fn objects(keys: &[&str]) -> ReplayEvent {
    let contents: String = keys.iter().map(|k| format!("<Contents><Key>{k}</Key><Size>3</Size></Contents>")).collect();
    event(
        "ListObjectsV2",
        200,
        format!(
            "<ListBucketResult><Name>{BUCKET}</Name><KeyCount>{}</KeyCount><MaxKeys>1000</MaxKeys>\
             <IsTruncated>false</IsTruncated>{contents}</ListBucketResult>",
            keys.len()
        ),
    )
}

/// The operation each actual request was: `Action=` for the query APIs, method and path for S3.
fn operations(client: &Replay) -> Vec<String> {
    client
        .actual_requests()
        .into_iter()
        .map(|request| {
            let body = std::str::from_utf8(&request.body).unwrap_or_default();
            if let Some(action) = body.split('&').find_map(|p| p.strip_prefix("Action=")) {
                return action.to_owned();
            }
            let uri = request.uri;
            let query = uri.split_once('?').map(|(_, q)| q).unwrap_or_default();
            let op = match (request.method.as_str(), query) {
                ("HEAD", _) => "HeadBucket",
                ("GET", q) if q.contains("tagging") => "GetBucketTagging",
                ("PUT", q) if q.contains("tagging") => "PutBucketTagging",
                ("GET", q) if q.contains("list-type=2") => "ListObjectsV2",
                ("PUT", _) if uri.contains(".zip") => "PutObject",
                ("PUT", _) => "CreateBucket",
                ("DELETE", _) if uri.contains(".zip") => "DeleteObject",
                ("DELETE", _) => "DeleteBucket",
                _ => "unknown",
            };
            format!("S3:{op}")
        })
        .collect()
}

fn request_body(client: &Replay, action: &str) -> String {
    client
        .actual_requests()
        .into_iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .find(|b| b.contains(&format!("Action={action}")))
        .unwrap_or_else(|| panic!("no {action} request"))
}

async fn deployer(replay: &Replay) -> Deployer {
    let config = AwsConfig {
        region: Some(REGION.into()),
        credentials: Some(Credentials::new("AKIDREPLAY", "secret", None, None, "replay")),
        http_client: Some(replay.clone().into_shared()),
        ..AwsConfig::default()
    };
    Deployer::new(config.connect().await.expect("clients")).polling(Duration::ZERO, Duration::from_secs(10))
}

fn zip() -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("replay");
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join("bootstrap.bin");
    std::fs::write(&binary, "replayed").unwrap();
    let zip = dir.join("bootstrap.zip");
    lambda_stream_aws::package::zip_bootstrap(&binary, &zip).unwrap();
    zip
}

fn options() -> DeployOptions {
    let mut options = DeployOptions::new(STACK, zip());
    options.poll_interval = Duration::ZERO;
    options
}

#[tokio::test]
async fn create_reports_resource_events_in_order_and_returns_the_url() {
    let url = "https://abc.lambda-url.eu-west-1.on.aws/";
    let replay = Replay::new(vec![
        stack_missing(),
        caller_identity(),
        event("HeadBucket", 200, ""),
        managed_tags(),
        event("PutObject", 200, ""),
        event("CreateStack", 200, cfn("CreateStack", "<StackId>arn:s</StackId>")),
        events(&[(STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", Some("User Initiated"))]),
        stack("CREATE_IN_PROGRESS", &[], &[]),
        events(&[
            (STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ("FunctionRole", "AWS::IAM::Role", "CREATE_COMPLETE", None),
            ("Function", "AWS::Lambda::Function", "CREATE_COMPLETE", None),
            ("FunctionUrl", "AWS::Lambda::Url", "CREATE_COMPLETE", None),
            (STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE", None),
        ]),
        stack("CREATE_COMPLETE", &[], &[]),
        stack("CREATE_COMPLETE", &[], &[("FunctionUrl", url), ("FunctionName", "ls-replay-Function-1")]),
    ]);
    let deployer = deployer(&replay).await;
    let mut seen = Vec::new();
    let deployment = deployer.deploy(&options(), &mut |p| seen.push(p)).await.expect("deploy");
    assert_eq!(deployment.action, StackAction::Created);
    assert_eq!(deployment.function_url().unwrap(), url);
    assert_eq!(deployment.function_name().unwrap(), "ls-replay-Function-1");
    assert_eq!(deployment.artifact.bucket, BUCKET, "bucket named after account and region");
    assert!(deployment.artifact.bucket_created, "the existing bucket is tagged lambda-stream:managed");
    let resources: Vec<(String, ResourceStatus)> = seen
        .iter()
        .filter_map(|p| match p {
            Progress::Resource { logical_id, status, .. } => Some((logical_id.clone(), status.clone())),
            Progress::Step(_) => None,
        })
        .collect();
    let expected: Vec<(String, ResourceStatus)> = [
        (STACK, ResourceStatus::CreateInProgress),
        ("FunctionRole", ResourceStatus::CreateComplete),
        ("Function", ResourceStatus::CreateComplete),
        ("FunctionUrl", ResourceStatus::CreateComplete),
        (STACK, ResourceStatus::CreateComplete),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b))
    .collect();
    assert_eq!(resources, expected, "each event once, oldest first");
    assert_eq!(
        operations(&replay),
        [
            "DescribeStacks",
            "GetCallerIdentity",
            "S3:HeadBucket",
            "S3:GetBucketTagging",
            "S3:PutObject",
            "CreateStack",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStacks",
        ]
    );
    let create = request_body(&replay, "CreateStack");
    assert!(create.contains("CAPABILITY_IAM"), "{create}");
    assert!(create.contains("AWS%3A%3ALambda%3A%3AUrl"), "the standard template has the URL resource");
    assert!(create.contains("lambda-stream%3Astack") && create.contains(&TAG_ARTIFACT.replace(':', "%3A")));
    assert!(
        create.contains(&format!("s3%3A%2F%2F{BUCKET}%2F{STACK}%2F")),
        "the artifact tag names the object: {create}"
    );
}

#[tokio::test]
async fn a_creation_that_rolls_back_fails_with_the_reason_and_teardown_removes_everything() {
    let reason = "Resource handler returned message: \"Code uncompressed size is greater than max allowed size\"";
    let artifact_tag = format!("s3://{BUCKET}/{STACK}/abc.zip");
    let tags = [
        ("lambda-stream:stack", STACK),
        ("lambda-stream:artifact", artifact_tag.as_str()),
        ("lambda-stream:bucket-created", "true"),
    ];
    let failed_events = [
        (STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
        ("FunctionRole", "AWS::IAM::Role", "CREATE_COMPLETE", None),
        ("Function", "AWS::Lambda::Function", "CREATE_FAILED", Some(reason)),
        (
            STACK,
            "AWS::CloudFormation::Stack",
            "ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to create: [Function]."),
        ),
        ("FunctionRole", "AWS::IAM::Role", "DELETE_COMPLETE", None),
        (STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE", None),
    ];
    let replay = Replay::new(vec![
        // deploy
        stack_missing(),
        caller_identity(),
        event("HeadBucket", 404, ""),
        event("CreateBucket", 200, ""),
        event("PutBucketTagging", 204, ""),
        event("PutObject", 200, ""),
        event("CreateStack", 200, cfn("CreateStack", "<StackId>arn:s</StackId>")),
        events(&failed_events),
        stack("ROLLBACK_COMPLETE", &tags, &[]),
        events(&failed_events),
        // teardown
        stack("ROLLBACK_COMPLETE", &tags, &[]),
        event("DeleteStack", 200, cfn("DeleteStack", "")),
        events(&[(STACK, "AWS::CloudFormation::Stack", "DELETE_IN_PROGRESS", None)]),
        stack_missing(),
        objects(&[&format!("{STACK}/abc.zip")]),
        event("DeleteObject", 204, ""),
        managed_tags(),
        objects(&[]),
        event("DeleteBucket", 204, ""),
    ]);
    let deployer = deployer(&replay).await;
    let failed = deployer.deploy(&options(), &mut |_| {}).await.unwrap_err();
    match &failed.error {
        Error::StackFailed { stack, status, reasons } => {
            assert_eq!((stack.as_str(), status), (STACK, &StackStatus::RollbackComplete));
            assert!(reasons.contains("Function CREATE_FAILED") && reasons.contains("uncompressed size"), "{reasons}");
        }
        other => panic!("expected StackFailed, got {other:?}"),
    }
    assert!(failed.stack_created_now, "this deploy created the stack");
    let cleanup = failed.cleanup.clone().expect("something to clean up");
    assert_eq!(cleanup.artifact.as_ref().map(|a| a.bucket.as_str()), Some(BUCKET));

    let report = deployer.teardown(&cleanup, &mut |_| {}).await.expect("teardown after the failure");
    assert_eq!(report.stack_deleted.as_deref(), Some(STACK));
    assert_eq!(report.objects_deleted, [format!("s3://{BUCKET}/{STACK}/abc.zip")]);
    assert_eq!(report.bucket_deleted.as_deref(), Some(BUCKET));
    assert_eq!(
        operations(&replay),
        [
            "DescribeStacks",
            "GetCallerIdentity",
            "S3:HeadBucket",
            "S3:CreateBucket",
            "S3:PutBucketTagging",
            "S3:PutObject",
            "CreateStack",
            "DescribeStackEvents",
            "DescribeStacks",
            "DescribeStackEvents",
            "DescribeStacks",
            "DeleteStack",
            "DescribeStackEvents",
            "DescribeStacks",
            "S3:ListObjectsV2",
            "S3:DeleteObject",
            "S3:GetBucketTagging",
            "S3:ListObjectsV2",
            "S3:DeleteBucket",
        ]
    );
    let create_bucket = replay.actual_requests().swap_remove(3);
    let body = String::from_utf8_lossy(&create_bucket.body).into_owned();
    assert!(
        body.contains("<LocationConstraint>eu-west-1</LocationConstraint>"),
        "outside us-east-1 the region is named: {body}"
    );
}

#[tokio::test]
async fn an_unchanged_update_is_reported_as_unchanged() {
    let tags = [("lambda-stream:stack", STACK)];
    let replay = Replay::new(vec![
        stack("CREATE_COMPLETE", &tags, &[]),
        caller_identity(),
        event("HeadBucket", 200, ""),
        managed_tags(),
        event("PutObject", 200, ""),
        cfn_error("ValidationError", "No updates are to be performed."),
        stack("CREATE_COMPLETE", &tags, &[("FunctionName", "f")]),
    ]);
    let deployment = deployer(&replay).await.deploy(&options(), &mut |_| {}).await.expect("deploy");
    assert_eq!(deployment.action, StackAction::Unchanged);
    assert_eq!(deployment.function_name().unwrap(), "f");
    assert_eq!(operations(&replay)[5], "UpdateStack");
    assert_eq!(operations(&replay).len(), 7, "no waiting for an update that did not start");
}

#[tokio::test]
async fn a_stack_left_in_rollback_complete_must_be_deleted_first_and_nothing_is_uploaded() {
    let replay = Replay::new(vec![stack("ROLLBACK_COMPLETE", &[], &[])]);
    let failed = deployer(&replay).await.deploy(&options(), &mut |_| {}).await.unwrap_err();
    assert!(matches!(failed.error, Error::StackNeedsDelete { .. }), "{:?}", failed.error);
    let text = failed.to_string();
    assert!(text.contains("ROLLBACK_COMPLETE") && text.contains("lambda-stream teardown --stack ls-replay"), "{text}");
    assert_eq!(operations(&replay), ["DescribeStacks"], "refused before uploading anything");
}

#[tokio::test]
async fn a_failing_update_rolls_back_and_is_not_offered_for_teardown_as_new() {
    let tags = [("lambda-stream:stack", STACK)];
    let replay = Replay::new(vec![
        stack("UPDATE_COMPLETE", &tags, &[]),
        caller_identity(),
        event("HeadBucket", 200, ""),
        managed_tags(),
        event("PutObject", 200, ""),
        event("UpdateStack", 200, cfn("UpdateStack", "<StackId>arn:s</StackId>")),
        events(&[
            (
                "Function",
                "AWS::Lambda::Function",
                "UPDATE_FAILED",
                Some("Architecture arm64 is not supported in this region"),
            ),
            (STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE", None),
        ]),
        stack("UPDATE_ROLLBACK_COMPLETE", &tags, &[]),
        events(&[(
            "Function",
            "AWS::Lambda::Function",
            "UPDATE_FAILED",
            Some("Architecture arm64 is not supported in this region"),
        )]),
    ]);
    let failed = deployer(&replay).await.deploy(&options(), &mut |_| {}).await.unwrap_err();
    assert!(!failed.stack_created_now, "the stack existed before: the CLI must not tear it down on its own");
    let text = failed.to_string();
    assert!(text.contains("UPDATE_ROLLBACK_COMPLETE") && text.contains("arm64 is not supported"), "{text}");
}

/// The value CreateStack/UpdateStack sent for parameter `key` (`Parameters.member.N.ParameterKey`).
fn parameter(body: &str, key: &str) -> Option<String> {
    let pairs: Vec<(&str, &str)> = body.split('&').filter_map(|p| p.split_once('=')).collect();
    let member = pairs.iter().find_map(|(k, v)| (*v == key).then(|| k.strip_suffix(".ParameterKey")).flatten())?;
    let value_key = format!("{member}.ParameterValue");
    pairs.iter().find(|(k, _)| *k == value_key).map(|(_, v)| v.to_string())
}

#[tokio::test]
async fn with_the_rest_api_the_stack_gets_its_parameters_and_the_api_url_comes_back() {
    let api = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/v1";
    let replay = Replay::new(vec![
        stack_missing(),
        caller_identity(),
        event("HeadBucket", 200, ""),
        managed_tags(),
        event("PutObject", 200, ""),
        event("CreateStack", 200, cfn("CreateStack", "<StackId>arn:s</StackId>")),
        events(&[
            (STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", Some("User Initiated")),
            ("Function", "AWS::Lambda::Function", "CREATE_COMPLETE", None),
            ("RestApi", "AWS::ApiGateway::RestApi", "CREATE_COMPLETE", None),
            ("ProxyMethod", "AWS::ApiGateway::Method", "CREATE_COMPLETE", None),
            ("Stage", "AWS::ApiGateway::Stage", "CREATE_COMPLETE", None),
            ("ApiGatewayInvokePermission", "AWS::Lambda::Permission", "CREATE_COMPLETE", None),
            (STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE", None),
        ]),
        stack("CREATE_COMPLETE", &[], &[]),
        stack(
            "CREATE_COMPLETE",
            &[],
            &[("FunctionUrl", "https://abc.lambda-url.eu-west-1.on.aws/"), ("ApiUrl", api), ("RestApiId", "a1b2c3")],
        ),
    ]);
    let deployer = deployer(&replay).await;
    let mut options = options();
    options.api_gateway = Some(lambda_stream_aws::RestApiOptions { stage: "v1".into(), iam: false });
    let deployment = deployer.deploy(&options, &mut |_| {}).await.expect("deploy");
    assert_eq!(deployment.api_url().unwrap(), api);
    assert!(deployment.function_url().is_ok(), "the function URL stays alongside");
    let create = request_body(&replay, "CreateStack");
    assert_eq!(parameter(&create, "ApiGateway").as_deref(), Some("true"), "{create}");
    assert_eq!(parameter(&create, "ApiGatewayAuth").as_deref(), Some("NONE"));
    assert_eq!(parameter(&create, "StageName").as_deref(), Some("v1"));
    assert!(create.contains("ResponseTransferMode"), "the template streams the integration");
    assert!(create.contains("response-streaming-invocations"));
}

#[tokio::test]
async fn without_the_rest_api_the_condition_is_off_and_no_api_url_is_claimed() {
    let replay = Replay::new(vec![
        stack_missing(),
        caller_identity(),
        event("HeadBucket", 200, ""),
        managed_tags(),
        event("PutObject", 200, ""),
        event("CreateStack", 200, cfn("CreateStack", "<StackId>arn:s</StackId>")),
        events(&[(STACK, "AWS::CloudFormation::Stack", "CREATE_COMPLETE", None)]),
        stack("CREATE_COMPLETE", &[], &[]),
        stack("CREATE_COMPLETE", &[], &[("FunctionName", "f")]),
    ]);
    let deployer = deployer(&replay).await;
    let deployment = deployer.deploy(&options(), &mut |_| {}).await.expect("deploy");
    let create = request_body(&replay, "CreateStack");
    assert_eq!(parameter(&create, "ApiGateway").as_deref(), Some("false"), "{create}");
    assert_eq!(parameter(&create, "ApiGatewayAuth").as_deref(), Some("AWS_IAM"));
    assert!(matches!(deployment.api_url(), Err(Error::MissingOutput { ref output, .. }) if output == "ApiUrl"));
}
