//! The remote target: the same scenarios against functions the suite did not start, as a client
//! reaches Lambda — function URLs over HTTPS signed with SigV4 (AuthType `AWS_IAM`), and
//! InvokeWithResponseStream and the buffered Invoke through aws-sdk-lambda. Real AWS (a stack from
//! `lambda-stream deploy --conformance`, read with `conform --stack`), LocalStack, or
//! `lambda-stream emulate --auth iam --tls` on 127.0.0.1, which is how the tests prove this path.
//!
//! ## Parts
//! - [`RemoteConfig`]: which function URL and which function name serve each handler, and how to
//!   reach AWS ([`AwsConfig`]: region, credentials from the usual chain or given, an endpoint
//!   override, a custom trust root for TLS).
//! - [`Remote`]: the connected clients — `lambda_stream_aws`'s [`FunctionUrlClient`] (the signing
//!   client `lambda-stream invoke` uses) and an aws-sdk-lambda client — and [`Remote::attempt`],
//!   which sends one scenario's request and turns the answer into the same [`Observation`] the
//!   local target makes: chunks timed as they arrive, PayloadChunks and InvokeComplete as the SDK
//!   decoded them, the raw status and headers of the answer as they came over the wire.
//!
//! ## What a remote target cannot judge
//! The function's side of the wire: wire checks are "not run" here (the emulator's recorder is not
//! in the loop), never passed. Scenarios that need emulator settings (a timeout, a size cap,
//! bandwidth shaping) and the local `/invoke` are not run either. Request headers the SDK has no
//! field for are not sent through it, so a scenario that needs one is not run, with the reason.
//!
//! ## Target errors are not rule failures
//! A throttled call, refused credentials or signature, a TLS failure (a wrong trust root) or a
//! connection that fails are the caller's or the network's problem, not evidence about a rule:
//! they are [`Attempt::TargetError`]s, the scenario's blocks are not run, and the run fails as a
//! whole with the error named ([`crate::Report::target_errors`]). Answers the API gives about the
//! function (`ResourceNotFoundException`, a function error) are observations, judged as usual.

use std::collections::BTreeMap;
use std::time::Duration;

use lambda_stream_aws::{
    AwsConfig, Clients, Error as AwsError, FunctionUrlClient, InvokeOptions, IwrsEvent, UrlRequest, caller_refused,
    invoke_buffered, invoke_with_response_stream_with,
};
use lambda_stream_protocol::names;

use crate::Error;
use crate::observe::{Arrival, Frame, FrameKind, Observation, epoch_ms_now, on_http_piece};
use crate::scenario::{InvokePath, Scenario};
use crate::target::{Attempt, outgoing};

/// Request headers the SDK calls carry as fields of their own; any other header cannot be sent
/// through the SDK (a scenario that needs one is not run).
const SDK_HEADERS: [&str; 4] = [names::LOG_TYPE, names::AMZ_CLIENT_CONTEXT, names::INVOCATION_TYPE, "content-type"];

/// Where the functions are and how to reach them.
#[derive(Debug, Clone, Default)]
pub struct RemoteConfig {
    /// Handler name to function URL (`https://ID.lambda-url.REGION.on.aws/`).
    pub urls: BTreeMap<String, String>,
    /// Handler name to function name or ARN (InvokeWithResponseStream and Invoke).
    pub functions: BTreeMap<String, String>,
    /// Handler name to a Lambda API endpoint of its own, instead of `aws.endpoint_url` (stand-ins
    /// that serve one function per endpoint, like the emulator).
    pub endpoints: BTreeMap<String, String>,
    /// Region, credentials, endpoint and trust root, for both the SDK and the URL signer.
    pub aws: AwsConfig,
}

/// Connected clients for a [`RemoteConfig`].
#[derive(Debug, Clone)]
pub struct Remote {
    urls: BTreeMap<String, String>,
    functions: BTreeMap<String, String>,
    url_client: FunctionUrlClient,
    clients: Clients,
    /// Lambda clients of the handlers with an endpoint of their own.
    per_handler: BTreeMap<String, aws_sdk_lambda::Client>,
}

impl Remote {
    /// Resolves region and credentials (the usual chain unless given) and builds the clients;
    /// fails before any request when there are none, or when the trust root is unusable.
    pub async fn connect(config: RemoteConfig) -> Result<Self, Error> {
        let clients = config.aws.connect().await.map_err(|e| Error::Target(e.to_string()))?;
        let credentials = clients.credentials().await.map_err(|e| Error::Target(e.to_string()))?;
        let url_client = FunctionUrlClient::with_trust(credentials, clients.region(), &config.aws.trust)
            .map_err(|e| Error::Target(e.to_string()))?;
        let per_handler = config
            .endpoints
            .iter()
            .map(|(handler, endpoint)| {
                let lambda = aws_sdk_lambda::config::Builder::from(&clients.sdk).endpoint_url(endpoint).build();
                (handler.clone(), aws_sdk_lambda::Client::from_conf(lambda))
            })
            .collect();
        Ok(Self { urls: config.urls, functions: config.functions, url_client, clients, per_handler })
    }

    /// The function URL serving each handler.
    pub fn urls(&self) -> &BTreeMap<String, String> {
        &self.urls
    }

    /// The function name serving each handler.
    pub fn functions(&self) -> &BTreeMap<String, String> {
        &self.functions
    }

    /// Runs one scenario's request.
    pub async fn attempt(&self, scenario: &Scenario) -> Result<Attempt, Error> {
        // `sends = N`: the same request N times, one after another; every answer must come with
        // the last one's status (as the local target's `send_all` judges it), and the last is
        // the one the checks see.
        let sends = scenario.sends.unwrap_or(1);
        let mut earlier = Vec::new();
        for _ in 1..sends {
            match self.attempt_once(scenario).await? {
                Attempt::Observed { client, .. } => earlier.push(client.status),
                other => return Ok(other),
            }
        }
        let last = self.attempt_once(scenario).await?;
        if let Attempt::Observed { client, .. } = &last
            && let Some((i, status)) = earlier.iter().enumerate().find(|(_, s)| **s != client.status)
        {
            return Ok(Attempt::Failed {
                error: format!("answer {} of {sends} had status {status}, the last {}", i + 1, client.status),
            });
        }
        Ok(last)
    }

    async fn attempt_once(&self, scenario: &Scenario) -> Result<Attempt, Error> {
        if scenario.needs_local_emulator() {
            return Ok(not_run(
                "needs a per-scenario timeout, size cap, idle timeout or bandwidth shaping, which only the local \
                 emulator sets",
            ));
        }
        match scenario.request.path {
            InvokePath::FunctionUrl => {
                let Some(base) = self.urls.get(&scenario.handler) else {
                    return Ok(not_run(&format!("no function URL given for handler {:?}", scenario.handler)));
                };
                self.via_url(scenario, base).await
            }
            InvokePath::InvokeWithResponseStream | InvokePath::Invoke => {
                let Some(function) = self.functions.get(&scenario.handler) else {
                    return Ok(not_run(&format!("no function name given for handler {:?}", scenario.handler)));
                };
                let function = scenario.request.function.as_deref().unwrap_or(function);
                self.via_sdk(scenario, function).await
            }
            InvokePath::LocalInvoke => Ok(not_run("a remote target has no local /invoke")),
            // The conformance stack has no REST API; a deployed stage is `--target api-gateway`.
            InvokePath::ApiGateway => {
                Ok(not_run("a remote target has no REST API (run api-gateway scenarios with --target api-gateway)"))
            }
        }
    }

    /// A function URL request, signed, read chunk by chunk.
    async fn via_url(&self, scenario: &Scenario, base: &str) -> Result<Attempt, Error> {
        let out = outgoing(scenario, base, "")?;
        let method = http::Method::from_bytes(out.method.as_str().as_bytes())
            .map_err(|e| Error::Invalid(format!("scenario {}: method: {e}", scenario.name)))?;
        let request = UrlRequest { url: out.url.clone(), method, headers: out.headers, body: out.body.into() };
        let sent_epoch_ms = epoch_ms_now();
        let mut response = match self.url_client.send(&request).await {
            Ok(response) => response,
            Err(e) => return Ok(target_error(format!("function URL {}: {e}", out.url))),
        };
        let mut obs = Observation {
            sent_epoch_ms,
            status: response.status.as_u16(),
            head_ms: ms(response.head_after),
            headers: response
                .headers
                .iter()
                .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect(),
            ..Observation::default()
        };
        obs.request_id = obs.header(names::AMZN_REQUEST_ID).map(str::to_owned);
        while let Some(chunk) = response.next_chunk().await {
            match chunk {
                Ok(chunk) => on_http_piece(&mut obs, ms(chunk.at), &chunk.bytes),
                Err(e) => {
                    obs.aborted = Some(e.to_string());
                    break;
                }
            }
        }
        obs.end_ms = ms(response.elapsed());
        // The front end refused the caller (signature, permissions, throttling), not the function.
        if let Some(kind) = obs.header(names::AMZN_ERROR_TYPE).filter(|k| caller_refused(k)) {
            let body = String::from_utf8_lossy(&obs.body).into_owned();
            return Ok(target_error(format!(
                "function URL {} refused the caller: {} {kind}: {body}",
                out.url, obs.status
            )));
        }
        Ok(observed(obs))
    }

    /// InvokeWithResponseStream or Invoke through aws-sdk-lambda.
    async fn via_sdk(&self, scenario: &Scenario, function: &str) -> Result<Attempt, Error> {
        let request = &scenario.request;
        let headers = request.header_pairs();
        if let Some((name, _)) = headers.iter().find(|(n, _)| !SDK_HEADERS.iter().any(|s| n.eq_ignore_ascii_case(s))) {
            return Ok(not_run(&format!("the SDK target cannot send the request header {name}")));
        }
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let dry_run = match header(names::INVOCATION_TYPE) {
            None | Some("RequestResponse") => false,
            Some("DryRun") => true,
            Some(other) => return Ok(not_run(&format!("the SDK target sends no invocation type {other:?}"))),
        };
        let options = InvokeOptions {
            qualifier: request.query.get("Qualifier").cloned(),
            log_tail: header(names::LOG_TYPE) == Some("Tail"),
            client_context: header(names::AMZ_CLIENT_CONTEXT).map(str::to_owned),
            dry_run,
        };
        let payload = request.body_bytes().map_err(|e| Error::Invalid(format!("scenario {}: {e}", scenario.name)))?;
        let sent_epoch_ms = epoch_ms_now();
        let lambda = self.per_handler.get(&scenario.handler).unwrap_or(&self.clients.lambda);
        let result = match request.path {
            InvokePath::InvokeWithResponseStream => {
                match invoke_with_response_stream_with(lambda, function, payload, &options).await {
                    Ok(response) => Ok(read_stream(response, sent_epoch_ms).await),
                    Err(e) => Err(e),
                }
            }
            _ => match invoke_buffered(lambda, function, payload, &options).await {
                Ok(answer) => {
                    let at = ms(answer.elapsed);
                    let mut obs = Observation {
                        sent_epoch_ms,
                        status: answer.status,
                        headers: answer.headers,
                        head_ms: at,
                        end_ms: at,
                        ..Observation::default()
                    };
                    if !answer.payload.is_empty() {
                        on_http_piece(&mut obs, at, &answer.payload);
                    }
                    Ok(obs)
                }
                Err(e) => Err(e),
            },
        };
        Ok(match result {
            Ok(mut obs) => {
                obs.request_id = obs.header(names::AMZN_REQUEST_ID).map(str::to_owned);
                observed(obs)
            }
            Err(e) => sdk_failure(function, e, sent_epoch_ms),
        })
    }
}

/// Reads an InvokeWithResponseStream answer as it arrives.
async fn read_stream(mut response: lambda_stream_aws::IwrsResponse, sent_epoch_ms: f64) -> Observation {
    let mut obs = Observation {
        sent_epoch_ms,
        status: response.status,
        headers: std::mem::take(&mut response.headers),
        head_ms: ms(response.head_after),
        ..Observation::default()
    };
    while let Some(event) = response.next_event().await {
        match event {
            Ok(IwrsEvent::Chunk(chunk)) => {
                let at_ms = ms(chunk.at);
                if !obs.completes.is_empty() {
                    obs.frame_after_complete = true;
                }
                obs.frames.push(Frame { at_ms, kind: FrameKind::PayloadChunk, len: chunk.bytes.len() });
                let keep = obs.body.len() < crate::observe::MAX_KEPT_BODY;
                obs.chunks.push(Arrival { at_ms, len: chunk.bytes.len(), bytes: keep.then(|| chunk.bytes.to_vec()) });
                obs.keep(&chunk.bytes);
            }
            Ok(IwrsEvent::Complete { error_code, error_details, log_result }) => {
                let at_ms = ms(response.elapsed());
                obs.frames.push(Frame { at_ms, kind: FrameKind::InvokeComplete, len: 0 });
                obs.completes.push(lambda_stream_protocol::event_stream::InvokeComplete {
                    error_code,
                    error_details,
                    log_result,
                });
            }
            Err(e) => {
                let at_ms = ms(response.elapsed());
                obs.frames.push(Frame { at_ms, kind: FrameKind::Invalid(e.to_string()), len: 0 });
                obs.frame_errors.push(e.to_string());
                obs.aborted = Some(e.to_string());
                break;
            }
        }
    }
    obs.end_ms = ms(response.elapsed());
    obs
}

/// What an SDK error means for the run: the function's answer (an observation) or the caller's
/// problem (a target error).
fn sdk_failure(function: &str, error: AwsError, sent_epoch_ms: f64) -> Attempt {
    match error {
        AwsError::Service(rejection) if !error_is_callers(&rejection) => {
            let mut obs = Observation {
                sent_epoch_ms,
                status: rejection.status,
                headers: rejection.headers.clone(),
                ..Observation::default()
            };
            obs.request_id = obs.header(names::AMZN_REQUEST_ID).map(str::to_owned);
            on_http_piece(&mut obs, 0.0, &rejection.body);
            observed(obs)
        }
        other => target_error(format!("{function}: {other}")),
    }
}

fn error_is_callers(rejection: &lambda_stream_aws::Rejection) -> bool {
    rejection.is_throttling() || rejection.is_auth_failure()
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Every answer a remote target saw ends here, so its digest is sealed here.
fn observed(mut obs: Observation) -> Attempt {
    obs.seal_digest();
    Attempt::Observed { client: Box::new(obs), wire: None, wire_visible: false }
}

fn not_run(reason: &str) -> Attempt {
    Attempt::NotRun { reason: reason.to_owned() }
}

fn target_error(error: String) -> Attempt {
    Attempt::TargetError { error }
}
