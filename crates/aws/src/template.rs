//! The CloudFormation templates `deploy` uses (`templates/lambda-stream.json` for one function,
//! `templates/conformance.json` for the conformance stack; both usable by hand and checked by
//! cfn-lint in CI) and their variants.
//!
//! The API Gateway REST API is in the same template behind the condition `HasApiGateway`
//! (parameter [`PARAM_API_GATEWAY`] = `true`): a REST API, `ANY` on the root and on `{proxy+}`
//! with an `AWS_PROXY` integration to the InvokeWithResponseStream URI with
//! `ResponseTransferMode: STREAM`, a deployment, a stage, the permission for
//! `apigateway.amazonaws.com` (docs/protocol.md §6), and a managed policy with `execute-api:Invoke`
//! for its callers (a policy of its own rather than a conditional statement in the invoke policy,
//! which moto's policy check refuses). One template, so `deploy --front
//! api-gateway` adds the REST API alongside the function URL and a later deploy without it
//! removes it again.
//!
//! The template is JSON, not YAML, so that this crate can derive variants with `serde_json`
//! alone: moto (the offline AWS used in CI) has no `AWS::Lambda::Url`, so the offline tests deploy
//! the same template without that resource and its output ([`Template::without_function_url`]).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Error;

/// The template's text, as committed in `templates/lambda-stream.json`.
pub const TEMPLATE_JSON: &str = include_str!("../../../templates/lambda-stream.json");

/// Logical id of the function URL resource (and of its output).
pub const FUNCTION_URL: &str = "FunctionUrl";
/// Output: the function's name.
pub const OUTPUT_FUNCTION_NAME: &str = "FunctionName";
/// Output: the function's ARN.
pub const OUTPUT_FUNCTION_ARN: &str = "FunctionArn";
/// Output: the managed policy callers need.
pub const OUTPUT_INVOKE_POLICY: &str = "InvokePolicyArn";
/// Output: the REST API stage's invoke URL (only with the REST API).
pub const OUTPUT_API_URL: &str = "ApiUrl";
/// Output: the managed policy callers of the REST API need (only with the REST API).
pub const OUTPUT_REST_API_INVOKE_POLICY: &str = "RestApiInvokePolicyArn";
/// Output: the REST API's id (only with the REST API).
pub const OUTPUT_REST_API_ID: &str = "RestApiId";
/// Parameter: `true` deploys the REST API too.
pub const PARAM_API_GATEWAY: &str = "ApiGateway";
/// Parameter: the REST API methods' authorization, `AWS_IAM` or `NONE`.
pub const PARAM_API_GATEWAY_AUTH: &str = "ApiGatewayAuth";
/// Parameter: the REST API's stage name.
pub const PARAM_STAGE_NAME: &str = "StageName";

/// The conformance stack's template, as committed in `templates/conformance.json`.
pub const CONFORMANCE_JSON: &str = include_str!("../../../templates/conformance.json");

/// The conformance stack's handlers (the names scenarios use, and the `Handler` setting that
/// `conformance-bootstrap` reads from `_HANDLER`) and the prefix of their resources and outputs:
/// `PREFIXFunction`, `PREFIXUrl`; outputs `PREFIXFunctionUrl` and `PREFIXFunctionName`.
pub const CONFORMANCE_HANDLERS: [(&str, &str); 3] =
    [("send-numbers", "SendNumbers"), ("conditional-streaming", "ConditionalStreaming"), ("probe", "Probe")];

/// The bin the conformance stack's zip holds.
pub const CONFORMANCE_BIN: &str = "conformance-bootstrap";

/// What a conformance stack's outputs say: the function URL and the function name per handler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConformanceEndpoints {
    /// Handler to function URL.
    pub urls: BTreeMap<String, String>,
    /// Handler to function name.
    pub functions: BTreeMap<String, String>,
}

impl ConformanceEndpoints {
    /// Reads a conformance stack's outputs; names the first output missing.
    pub fn from_outputs(stack: &str, outputs: &BTreeMap<String, String>) -> Result<Self, Error> {
        let mut endpoints = Self::default();
        for (handler, prefix) in CONFORMANCE_HANDLERS {
            let get = |key: String| {
                outputs.get(&key).cloned().ok_or_else(|| Error::MissingOutput { stack: stack.to_owned(), output: key })
            };
            endpoints.urls.insert(handler.to_owned(), get(format!("{prefix}FunctionUrl"))?);
            endpoints.functions.insert(handler.to_owned(), get(format!("{prefix}FunctionName"))?);
        }
        Ok(endpoints)
    }
}

/// A CloudFormation template body.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    document: Value,
}

impl Template {
    /// The full template: role, function, log group, URL (`AWS_IAM`, `RESPONSE_STREAM`), policy.
    pub fn standard() -> Self {
        Self { document: serde_json::from_str(TEMPLATE_JSON).expect("templates/lambda-stream.json is valid JSON") }
    }

    /// The conformance stack: the three handlers on one bootstrap zip, each with its function
    /// URL (`AWS_IAM`, `RESPONSE_STREAM`), and one policy to invoke them all.
    pub fn conformance() -> Self {
        Self { document: serde_json::from_str(CONFORMANCE_JSON).expect("templates/conformance.json is valid JSON") }
    }

    /// The same without the function URL and its output, for emulators that lack
    /// `AWS::Lambda::Url` (moto).
    pub fn without_function_url(mut self) -> Self {
        for section in ["Resources", "Outputs"] {
            if let Some(map) = self.document.get_mut(section).and_then(Value::as_object_mut) {
                map.remove(FUNCTION_URL);
            }
        }
        self
    }

    /// The JSON document.
    pub fn document(&self) -> &Value {
        &self.document
    }

    /// The body to send to CloudFormation.
    pub fn body(&self) -> String {
        self.document.to_string()
    }

    /// Whether the template defines a function URL.
    pub fn has_function_url(&self) -> bool {
        self.document.pointer(&format!("/Resources/{FUNCTION_URL}")).is_some()
    }
}

impl Default for Template {
    fn default() -> Self {
        Self::standard()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_streams_and_requires_iam() {
        let t = Template::standard();
        let url = t.document().pointer("/Resources/FunctionUrl/Properties").expect("a FunctionUrl resource");
        assert_eq!(url["AuthType"], "AWS_IAM");
        assert_eq!(url["InvokeMode"], "RESPONSE_STREAM");
        let function = t.document().pointer("/Resources/Function/Properties").unwrap();
        assert_eq!(function["Runtime"], "provided.al2023");
        assert_eq!(function["Architectures"][0]["Ref"], "Architecture");
        assert_eq!(function["MemorySize"]["Ref"], "MemorySize");
        assert_eq!(function["Timeout"]["Ref"], "Timeout");
    }

    #[test]
    fn callers_get_both_invoke_permissions() {
        let t = Template::standard();
        let statements = t.document().pointer("/Resources/InvokePolicy/Properties/PolicyDocument/Statement").unwrap();
        let actions: Vec<&str> = statements.as_array().unwrap().iter().map(|s| s["Action"].as_str().unwrap()).collect();
        assert!(actions.contains(&"lambda:InvokeFunctionUrl") && actions.contains(&"lambda:InvokeFunction"));
        // With the REST API, a policy of its own grants execute-api:Invoke.
        let rest = t.document().pointer("/Resources/RestApiInvokePolicy").unwrap();
        assert_eq!(rest["Condition"], "HasApiGateway");
        assert_eq!(rest.pointer("/Properties/PolicyDocument/Statement/0/Action").unwrap(), "execute-api:Invoke");
    }

    #[test]
    fn the_rest_api_streams_through_invoke_with_response_stream() {
        let t = Template::standard();
        let doc = t.document();
        for method in ["ProxyMethod", "RootMethod"] {
            let m = doc.pointer(&format!("/Resources/{method}")).unwrap();
            assert_eq!(m["Condition"], "HasApiGateway", "{method}");
            assert_eq!(m["Properties"]["HttpMethod"], "ANY");
            let integration = &m["Properties"]["Integration"];
            assert_eq!(integration["Type"], "AWS_PROXY");
            assert_eq!(integration["IntegrationHttpMethod"], "POST");
            assert_eq!(integration["ResponseTransferMode"], "STREAM");
            let uri = integration["Uri"]["Fn::Sub"].as_str().unwrap();
            assert!(
                uri.ends_with(":lambda:path/2021-11-15/functions/${Function.Arn}/response-streaming-invocations"),
                "{uri}"
            );
        }
        assert_eq!(doc.pointer("/Resources/ProxyResource/Properties/PathPart").unwrap(), "{proxy+}");
        let permission = doc.pointer("/Resources/ApiGatewayInvokePermission/Properties").unwrap();
        assert_eq!(permission["Principal"], "apigateway.amazonaws.com");
        assert_eq!(permission["Action"], "lambda:InvokeFunction");
        assert_eq!(doc.pointer("/Resources/Stage/Properties/StageName/Ref").unwrap(), PARAM_STAGE_NAME);
        assert_eq!(doc.pointer(&format!("/Parameters/{PARAM_API_GATEWAY}/Default")).unwrap(), "false");
        assert_eq!(doc.pointer(&format!("/Outputs/{OUTPUT_API_URL}/Condition")).unwrap(), "HasApiGateway");
        assert!(doc.pointer(&format!("/Parameters/{PARAM_API_GATEWAY_AUTH}")).is_some());
        assert!(doc.pointer(&format!("/Outputs/{OUTPUT_REST_API_ID}")).is_some());
    }

    #[test]
    fn every_taggable_resource_carries_the_stack_tag() {
        let t = Template::standard();
        for id in ["FunctionRole", "Function", "FunctionLogGroup"] {
            let tags = t.document().pointer(&format!("/Resources/{id}/Properties/Tags")).unwrap();
            assert_eq!(tags[0]["Key"], "lambda-stream:stack", "{id}");
            assert_eq!(tags[0]["Value"]["Ref"], "AWS::StackName", "{id}");
        }
    }

    #[test]
    fn the_conformance_stack_serves_each_handler_behind_a_streaming_iam_url() {
        let t = Template::conformance();
        for (handler, prefix) in CONFORMANCE_HANDLERS {
            let function = t.document().pointer(&format!("/Resources/{prefix}Function/Properties")).unwrap();
            assert_eq!(function["Handler"], handler, "conformance-bootstrap reads the handler from _HANDLER");
            assert_eq!(function["Runtime"], "provided.al2023");
            let url = t.document().pointer(&format!("/Resources/{prefix}Url/Properties")).unwrap();
            assert_eq!(url["AuthType"], "AWS_IAM");
            assert_eq!(url["InvokeMode"], "RESPONSE_STREAM");
            assert_eq!(url["TargetFunctionArn"]["Fn::GetAtt"][0], format!("{prefix}Function"));
            for output in [format!("{prefix}FunctionUrl"), format!("{prefix}FunctionName")] {
                assert!(t.document().pointer(&format!("/Outputs/{output}")).is_some(), "{output}");
            }
            let tags = t.document().pointer(&format!("/Resources/{prefix}Function/Properties/Tags")).unwrap();
            assert_eq!(tags[0]["Key"], "lambda-stream:stack");
        }
        let statements = t.document().pointer("/Resources/InvokePolicy/Properties/PolicyDocument/Statement").unwrap();
        for statement in statements.as_array().unwrap() {
            assert_eq!(statement["Resource"].as_array().unwrap().len(), 3, "{statement}");
        }
        // The standard template's function parameters, so `deploy` fills both alike; not its REST
        // API ones (`deploy` passes only the parameters a template declares).
        let standard = Template::standard();
        let function_params: Vec<&String> = standard.document()["Parameters"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| {
                ![PARAM_API_GATEWAY, PARAM_API_GATEWAY_AUTH, PARAM_STAGE_NAME, "IntegrationTimeoutMillis"]
                    .contains(&k.as_str())
            })
            .collect();
        assert_eq!(t.document()["Parameters"].as_object().unwrap().keys().collect::<Vec<_>>(), function_params);
    }

    #[test]
    fn conformance_endpoints_come_from_the_outputs_or_name_the_missing_one() {
        let mut outputs = BTreeMap::new();
        for (_, prefix) in CONFORMANCE_HANDLERS {
            outputs.insert(format!("{prefix}FunctionUrl"), format!("https://{prefix}.lambda-url.eu-west-1.on.aws/"));
            outputs.insert(format!("{prefix}FunctionName"), format!("stack-{prefix}"));
        }
        let endpoints = ConformanceEndpoints::from_outputs("s", &outputs).unwrap();
        assert_eq!(endpoints.functions["probe"], "stack-Probe");
        assert_eq!(endpoints.urls["send-numbers"], "https://SendNumbers.lambda-url.eu-west-1.on.aws/");
        outputs.remove("ProbeFunctionName");
        let err = ConformanceEndpoints::from_outputs("s", &outputs).unwrap_err().to_string();
        assert!(err.contains("ProbeFunctionName"), "{err}");
    }

    #[test]
    fn the_moto_variant_drops_only_the_url() {
        let full = Template::standard();
        let bare = full.clone().without_function_url();
        assert!(full.has_function_url() && !bare.has_function_url());
        assert!(bare.document().pointer("/Outputs/FunctionUrl").is_none());
        assert!(bare.document().pointer("/Outputs/FunctionName").is_some());
        assert!(bare.document().pointer("/Resources/Function").is_some());
        // Nothing left refers to the removed resource.
        assert!(!bare.body().contains("\"FunctionUrl\""), "{}", bare.body());
    }
}
