//! deploy/teardown against moto in server mode (`ci/aws-offline.sh` starts it on 127.0.0.1 and
//! sets `LAMBDA_STREAM_MOTO_ENDPOINT`): S3, STS, IAM, Lambda and CloudFormation for real HTTP.
//! moto has no `AWS::Lambda::Url`, so these deploy the template without the function URL
//! (`Template::without_function_url`); the URL resource is covered by the replay tests and by
//! cfn-lint. The REST API resources moto has (`RestApi`, `Resource`, `Method`, `Deployment`; it
//! skips `AWS::ApiGateway::Stage` with a warning) are deployed and removed with the stack.
//! `#[ignore]`d so that a plain `cargo test --workspace` does not need moto.

use std::path::PathBuf;
use std::time::Duration;

use lambda_stream_aws::deploy::{BUCKET_PREFIX, TAG_MANAGED, TAG_STACK};
use lambda_stream_aws::live::Env;
use lambda_stream_aws::{
    AwsConfig, Cleanup, Clients, DeployOptions, Deployer, Progress, ResourceStatus, StackAction, Template,
};

const REGION: &str = "eu-west-1";

async fn moto() -> Clients {
    let endpoint =
        Env::from_process().moto_endpoint().unwrap_or_else(|reason| panic!("this test needs moto: {reason}"));
    AwsConfig::local(endpoint, REGION).connect().await.expect("clients for moto")
}

/// A zip with some bytes as `bootstrap` (moto stores the code, it does not run it).
fn zip(name: &str, content: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("moto");
    std::fs::create_dir_all(&dir).unwrap();
    let binary = dir.join(format!("{name}.bin"));
    std::fs::write(&binary, content).unwrap();
    let zip = dir.join(format!("{name}.zip"));
    lambda_stream_aws::package::zip_bootstrap(&binary, &zip).unwrap();
    zip
}

fn options(stack: &str, zip: PathBuf) -> DeployOptions {
    let mut options = DeployOptions::new(stack, zip);
    options.template = Template::standard().without_function_url();
    options.poll_interval = Duration::from_millis(50);
    options.max_wait = Duration::from_secs(60);
    options
}

fn deployer(clients: Clients) -> Deployer {
    Deployer::new(clients).polling(Duration::from_millis(50), Duration::from_secs(60))
}

async fn keys(clients: &Clients, bucket: &str) -> Vec<String> {
    match clients.s3.list_objects_v2().bucket(bucket).send().await {
        Ok(out) => out.contents().iter().filter_map(|o| o.key().map(str::to_owned)).collect(),
        Err(_) => Vec::new(),
    }
}

async fn bucket_exists(clients: &Clients, bucket: &str) -> bool {
    clients.s3.head_bucket().bucket(bucket).send().await.is_ok()
}

async fn function_exists(clients: &Clients, name: &str) -> bool {
    clients.lambda.get_function().function_name(name).send().await.is_ok()
}

#[tokio::test]
#[ignore = "needs moto (LAMBDA_STREAM_MOTO_ENDPOINT); run by ci/aws-offline.sh"]
async fn moto_create_update_and_teardown_leave_nothing_behind() {
    let clients = moto().await;
    let deployer = deployer(clients.clone());
    let stack = "ls-moto-lifecycle";
    let mut events = Vec::new();

    // Create: bucket made and tagged, zip uploaded, stack complete with the function.
    let first =
        deployer.deploy(&options(stack, zip("v1", "version one")), &mut |p| events.push(p)).await.expect("create");
    assert_eq!(first.action, StackAction::Created);
    assert!(first.artifact.bucket.starts_with(BUCKET_PREFIX), "{}", first.artifact.bucket);
    assert!(first.artifact.bucket_created);
    let function = first.function_name().expect("FunctionName output").to_owned();
    assert!(function_exists(&clients, &function).await, "moto created the function {function}");
    assert_eq!(keys(&clients, &first.artifact.bucket).await, std::slice::from_ref(&first.artifact.key));
    let tags = clients.s3.get_bucket_tagging().bucket(&first.artifact.bucket).send().await.unwrap();
    assert!(tags.tag_set().iter().any(|t| t.key() == TAG_MANAGED && t.value() == "true"));
    assert!(events.iter().any(|e| matches!(e, Progress::Step(s) if s.starts_with("creating bucket"))), "{events:?}");
    assert!(
        // moto records stack-level events only; per-resource events are covered by the replay tests.
        events.iter().any(|e| matches!(e, Progress::Resource { logical_id, status, .. } if logical_id == stack && *status == ResourceStatus::CreateComplete)),
        "the stack's CREATE_COMPLETE event was reported: {events:?}"
    );
    let described = deployer.describe_stack(stack).await.unwrap().expect("stack exists");
    assert!(described.tags().iter().any(|t| t.key() == Some(TAG_STACK) && t.value() == Some(stack)));

    // Update with a new zip: the stack now points at the new object, the old one is removed.
    let second = deployer.deploy(&options(stack, zip("v2", "version two")), &mut |_| {}).await.expect("update");
    assert_eq!(second.action, StackAction::Updated);
    assert_ne!(second.artifact.key, first.artifact.key);
    assert_eq!(
        keys(&clients, &second.artifact.bucket).await,
        std::slice::from_ref(&second.artifact.key),
        "old zip removed"
    );

    // Teardown: stack, function, objects and the bucket deploy created are gone.
    let report = deployer.teardown(&second.cleanup(), &mut |_| {}).await.expect("teardown");
    assert_eq!(report.stack_deleted.as_deref(), Some(stack));
    assert_eq!(report.objects_deleted, [format!("s3://{}/{}", second.artifact.bucket, second.artifact.key)]);
    assert_eq!(report.bucket_deleted.as_deref(), Some(second.artifact.bucket.as_str()));
    assert!(deployer.describe_stack(stack).await.unwrap().is_none(), "stack gone");
    assert!(!function_exists(&clients, &function).await, "function gone");
    assert!(!bucket_exists(&clients, &second.artifact.bucket).await, "bucket gone");

    // A second teardown finds nothing and says so by an empty report.
    let again = deployer.teardown(&Cleanup { stack: stack.into(), artifact: None }, &mut |_| {}).await.unwrap();
    assert_eq!(again, Default::default());
}

#[tokio::test]
#[ignore = "needs moto (LAMBDA_STREAM_MOTO_ENDPOINT); run by ci/aws-offline.sh"]
async fn moto_a_bucket_of_the_user_is_reused_and_kept() {
    let clients = moto().await;
    let deployer = deployer(clients.clone());
    let bucket = "users-own-artifacts";
    clients
        .s3
        .create_bucket()
        .bucket(bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mut opts = options("ls-moto-own-bucket", zip("own", "own bucket"));
    opts.bucket = Some(bucket.into());
    let deployment = deployer.deploy(&opts, &mut |_| {}).await.expect("deploy into the user's bucket");
    assert_eq!(deployment.artifact.bucket, bucket);
    assert!(!deployment.artifact.bucket_created);
    let report = deployer.teardown(&deployment.cleanup(), &mut |_| {}).await.unwrap();
    assert_eq!(report.objects_deleted.len(), 1);
    assert_eq!(report.bucket_deleted, None, "a bucket lambda-stream did not create is never deleted");
    assert!(bucket_exists(&clients, bucket).await);
    assert!(keys(&clients, bucket).await.is_empty(), "our zip is gone from it");
    clients.s3.delete_bucket().bucket(bucket).send().await.unwrap();

    // A bucket that does not exist is refused before anything is created.
    let mut missing = options("ls-moto-missing-bucket", zip("own", "own bucket"));
    missing.bucket = Some("no-such-bucket-here".into());
    let err = deployer.deploy(&missing, &mut |_| {}).await.unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(err.cleanup.is_none() && deployer.describe_stack("ls-moto-missing-bucket").await.unwrap().is_none());
}

#[tokio::test]
#[ignore = "needs moto (LAMBDA_STREAM_MOTO_ENDPOINT); run by ci/aws-offline.sh"]
async fn moto_all_tagged_sweeps_every_stack_and_managed_bucket() {
    let clients = moto().await;
    let deployer = deployer(clients.clone());
    let a = deployer.deploy(&options("ls-moto-sweep-a", zip("a", "a")), &mut |_| {}).await.expect("deploy a");
    let b = deployer.deploy(&options("ls-moto-sweep-b", zip("b", "b")), &mut |_| {}).await.expect("deploy b");
    assert_eq!(a.artifact.bucket, b.artifact.bucket, "stacks share the account's artifacts bucket");
    // A stack that is not ours survives the sweep.
    let foreign = serde_json::json!({
        "Resources": { "Topic": { "Type": "AWS::SNS::Topic" } }
    });
    clients
        .cloudformation
        .create_stack()
        .stack_name("not-lambda-stream")
        .template_body(foreign.to_string())
        .send()
        .await
        .unwrap();

    // With a name prefix only the matching stack goes; the shared bucket keeps b's zip.
    let only_a = deployer.sweep(Some("ls-moto-sweep-a"), &mut |_| {}).await.expect("sweep a");
    assert_eq!(only_a.iter().filter_map(|r| r.stack_deleted.as_deref()).collect::<Vec<_>>(), ["ls-moto-sweep-a"]);
    assert!(deployer.describe_stack("ls-moto-sweep-b").await.unwrap().is_some());
    assert!(bucket_exists(&clients, &b.artifact.bucket).await, "the bucket still holds b's zip");
    let b2 = deployer.deploy(&options("ls-moto-sweep-a", zip("a", "a")), &mut |_| {}).await.expect("deploy a again");
    assert_eq!(b2.action, StackAction::Created);

    let reports = deployer.sweep(None, &mut |_| {}).await.expect("sweep");
    let stacks: Vec<_> = reports.iter().filter_map(|r| r.stack_deleted.clone()).collect();
    assert!(
        stacks.contains(&"ls-moto-sweep-a".to_owned()) && stacks.contains(&"ls-moto-sweep-b".to_owned()),
        "{reports:?}"
    );
    assert!(!stacks.contains(&"not-lambda-stream".to_owned()));
    assert!(deployer.describe_stack("ls-moto-sweep-a").await.unwrap().is_none());
    assert!(deployer.describe_stack("ls-moto-sweep-b").await.unwrap().is_none());
    assert!(deployer.describe_stack("not-lambda-stream").await.unwrap().is_some());
    assert!(!bucket_exists(&clients, &a.artifact.bucket).await, "the managed bucket is swept");
    clients.cloudformation.delete_stack().stack_name("not-lambda-stream").send().await.unwrap();
}

#[tokio::test]
#[ignore = "needs moto (LAMBDA_STREAM_MOTO_ENDPOINT); run by ci/aws-offline.sh"]
async fn moto_the_rest_api_deploys_alongside_and_goes_with_the_stack() {
    let clients = moto().await;
    let deployer = deployer(clients.clone());
    let stack = "ls-moto-rest-api";
    let mut opts = options(stack, zip("api", "behind a REST API"));
    opts.api_gateway = Some(lambda_stream_aws::RestApiOptions::default());
    let deployment = deployer.deploy(&opts, &mut |_| {}).await.expect("deploy with the REST API");
    let api_url = deployment.api_url().expect("ApiUrl output").to_owned();
    let api_id = deployment.outputs.get("RestApiId").expect("RestApiId output").clone();
    assert!(api_url.starts_with(&format!("https://{api_id}.execute-api.{REGION}.")), "{api_url}");
    assert!(api_url.ends_with("/prod"), "{api_url}");
    let resources = clients.cloudformation.describe_stack_resources().stack_name(stack).send().await.unwrap();
    let ids: Vec<&str> = resources.stack_resources().iter().filter_map(|r| r.logical_resource_id()).collect();
    for id in ["RestApi", "ProxyResource", "ProxyMethod", "RootMethod", "Deployment", "ApiGatewayInvokePermission"] {
        assert!(ids.contains(&id), "{id} in {ids:?}");
    }
    // A later deploy without it turns the condition off: the REST API goes, the function stays.
    let without = deployer.deploy(&options(stack, zip("api2", "no REST API")), &mut |_| {}).await.expect("update");
    assert!(without.api_url().is_err(), "{:?}", without.outputs);
    assert!(function_exists(&clients, without.function_name().unwrap()).await);
    let report = deployer.teardown(&without.cleanup(), &mut |_| {}).await.expect("teardown");
    assert_eq!(report.stack_deleted.as_deref(), Some(stack));
    assert!(deployer.describe_stack(stack).await.unwrap().is_none());
}
