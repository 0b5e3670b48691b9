//! Signing out of an IAM Identity Center session on the server (the SSO portal's `Logout`), the
//! first half of starting a fresh session: a sign-in during a session keeps the session's end,
//! only a sign-out resets it.

use std::time::Duration;

use aws_sdk_sso::config::{BehaviorVersion, Region};
use aws_sdk_sso::error::SdkError;

use crate::core::paths::Paths;

const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Calls `Logout` with `access_token` in the session's `region`. `Err` says why, in fixed words.
pub async fn logout(paths: &Paths, region: &str, access_token: String) -> Result<(), String> {
    let mut config = aws_sdk_sso::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()));
    if let Some(url) = &paths.sso_endpoint {
        config = config.endpoint_url(url);
    }
    let client = aws_sdk_sso::Client::from_conf(config.build());
    let call = client.logout().access_token(access_token).send();
    match tokio::time::timeout(CALL_TIMEOUT, call).await {
        Ok(Ok(_)) => Ok(()),
        // The token is no longer accepted: the session is over already, which is what was wanted.
        Ok(Err(SdkError::ServiceError(se))) if se.raw().status().as_u16() == 401 => Ok(()),
        Ok(Err(SdkError::ServiceError(_))) => Err("the SSO portal refused the sign-out".into()),
        Ok(Err(SdkError::DispatchFailure(_) | SdkError::TimeoutError(_))) | Err(_) => {
            Err("the SSO portal could not be reached".into())
        }
        Ok(Err(_)) => Err("the SSO portal gave an unreadable answer".into()),
    }
}
