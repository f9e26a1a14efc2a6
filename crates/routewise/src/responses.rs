//! `client.responses()`: create, stream, retrieve, retrieve_stream, delete, cancel,
//! input_items.

use std::future::Future;
use std::time::Instant;

use bytes::Bytes;
use futures_util::StreamExt;
use http::{HeaderName, HeaderValue, Request};
use routewise_strategy::{
    AttemptFailure, AttemptSuccess, ExecError, PlannedAttempt, RouteContext, RoutePlan, Routed,
    SystemClock, execute_with,
};
use routewise_types::{CreateResponse, InputItem, Response, ResponseStreamEvent};
use tracing::Instrument;

use crate::body::RequestBody;
use crate::client::{Client, Shared};
use crate::error::{Error, ErrorKind};
use crate::exchange;
use crate::list::{DeletedResponse, InputItemList, InputItemsQuery};
use crate::meta::ResponseMeta;
use crate::request::{self, Operation};
use crate::routing::RoutedResponse;
use crate::stream::{Committed, EventReader, ResponseStream};
use crate::telemetry::{self, CallRecord};

/// How many events a stream may buffer before its first content delta. Preambles are two to
/// four events; the cap only bounds a server that never gets to the point.
const MAX_PREAMBLE: usize = 64;

/// The Responses API operations of a [`Client`]; from [`Client::responses`].
///
/// A `Copy` handle whose methods take it by value, so their futures borrow only the client:
/// `client.responses().create(req)` can be stored, collected and joined.
#[derive(Debug, Clone, Copy)]
pub struct Responses<'a> {
    client: &'a Client,
}

impl<'a> Responses<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// `POST /responses`: routes the request with the client's strategy, fails over per its
    /// policy, and returns the response with its [`RouteDecision`](routewise_strategy::RouteDecision).
    ///
    /// Two mechanisms stack: each attempt first goes through the transport's retry policy
    /// (same deployment, SDK rules), and only a failure that survives it reaches the strategy,
    /// which may fail over to the next planned deployment. With a multi-deployment strategy
    /// such as `Fallback`, `ClientBuilder::max_retries(0)` moves on at once instead.
    ///
    /// `request.stream` is ignored (use [`stream`](Self::stream)).
    ///
    /// The request is boxed before the future is made: the future then carries a pointer, not
    /// a 2 KB copy of the request at every level of the call.
    pub fn create(
        self,
        request: CreateResponse,
    ) -> impl Future<Output = Result<RoutedResponse, Error>> + 'a {
        let mut request = Box::new(request);
        request.stream = None;
        self.create_boxed(request)
    }

    async fn create_boxed(self, request: Box<CreateResponse>) -> Result<RoutedResponse, Error> {
        let shared = &*self.client.shared;
        let span = telemetry::call_span(
            Operation::Create { stream: false },
            &shared.endpoint,
            request.model.as_deref(),
        );
        let started = Instant::now();
        let result = self.create_routed(request).instrument(span.clone()).await;
        match &result {
            Ok(routed) => {
                let usage = routed.usage.as_ref();
                let record = CallRecord {
                    response_model: routed.model.as_deref(),
                    response_id: Some(&routed.id),
                    input_tokens: usage.map(|u| u.input_tokens),
                    output_tokens: usage.map(|u| u.output_tokens),
                    deployment: routed.decision().deployment.as_deref(),
                    strategy: Some(&routed.decision().strategy),
                    attempts: Some(routed.decision().attempts.len()),
                };
                telemetry::record_success(&span, &record, routed.meta(), started.elapsed());
            }
            Err(err) => telemetry::record_failure(&span, err, started.elapsed()),
        }
        result
    }

    async fn create_routed(&self, request: Box<CreateResponse>) -> Result<RoutedResponse, Error> {
        let shared = &*self.client.shared;
        let Routed {
            value: (response, meta),
            mut decision,
        } = self
            .routed(
                request,
                Operation::Create { stream: false },
                |req, _| async move {
                    let (response, meta) = exchange::send_json::<Response>(&shared.transport, req)
                        .await
                        .map_err(|e| e.to_attempt_failure())?;
                    Ok(success(response, meta))
                },
            )
            .await?;
        decision.record_response(&response);
        Ok(RoutedResponse::new(response, decision, meta))
    }

    /// Plans `request`, serialises it once, and runs the attempts through the strategy's
    /// failover loop; `send` performs one attempt with the request prepared for it.
    async fn routed<T, F, Fut>(
        &self,
        request: Box<CreateResponse>,
        op: Operation<'static>,
        mut send: F,
    ) -> Result<Routed<T>, Error>
    where
        F: FnMut(Request<Bytes>, &PlannedAttempt) -> Fut,
        Fut: Future<Output = Result<AttemptSuccess<T>, AttemptFailure>>,
    {
        let shared = &*self.client.shared;
        let routing = &*self.client.routing;
        let plan = self.plan(&request)?;
        let body = RequestBody::new(request)?;
        let body = &body;
        execute_with(
            &*routing.strategy,
            plan,
            &routing.failover,
            &SystemClock,
            |attempt| {
                let sent = prepare(shared, body, attempt, op).map(|req| send(req, attempt));
                async move { sent.map_err(|e| e.to_attempt_failure())?.await }
            },
        )
        .await
        .map_err(exec_error)
    }

    /// `POST /responses` with `stream: true`: routes like [`create`](Self::create) and returns
    /// the event stream.
    ///
    /// Events up to the first content delta (`response.created`, `in_progress`, item and part
    /// announcements) are buffered, so an HTTP error, a timeout or an in-band failure before any
    /// content can still fail over to the next planned deployment. From the first content event
    /// on the stream is committed: a later failure is surfaced, never retried.
    ///
    /// A server that answers with JSON instead of an event stream is still read: a whole
    /// response is replayed as its events ([`routewise_types::replay`]), an error body becomes
    /// that error, and anything else is an [`ErrorKind::StreamProtocol`] error with a snippet.
    ///
    /// The request is boxed before the future is made, as in [`create`](Self::create).
    pub fn stream(
        self,
        request: CreateResponse,
    ) -> impl Future<Output = Result<ResponseStream, Error>> + 'a {
        let mut request = Box::new(request);
        request.stream = Some(true);
        self.stream_boxed(request)
    }

    async fn stream_boxed(self, request: Box<CreateResponse>) -> Result<ResponseStream, Error> {
        let shared = &*self.client.shared;
        let span = telemetry::call_span(
            Operation::Create { stream: true },
            &shared.endpoint,
            request.model.as_deref(),
        );
        let started = Instant::now();
        let result = self.stream_routed(request).instrument(span.clone()).await;
        match result {
            Ok((committed, decision)) => Ok(ResponseStream::new(
                committed,
                decision,
                self.client.routing.strategy.clone(),
                span,
                started,
            )),
            Err(err) => {
                telemetry::record_failure(&span, &err, started.elapsed());
                Err(err)
            }
        }
    }

    async fn stream_routed(
        &self,
        request: Box<CreateResponse>,
    ) -> Result<(Committed, routewise_strategy::RouteDecision), Error> {
        let shared = &*self.client.shared;
        let Routed {
            value: committed,
            decision,
        } = self
            .routed(
                request,
                Operation::Create { stream: true },
                |req, attempt| {
                    let deployment = attempt.deployment.clone();
                    async move {
                        let started = Instant::now();
                        let (parts, body, meta) = exchange::send(&shared.transport, req)
                            .await
                            .map_err(|e| e.to_attempt_failure())?;
                        let body = if exchange::is_json(&parts.headers) {
                            exchange::json_instead_of_stream(body)
                                .await
                                .map_err(|e| e.with_meta(meta.clone()).to_attempt_failure())?
                        } else {
                            body
                        };
                        let reader = EventReader::new(body, shared.stream_timing);
                        open_stream(reader, meta, deployment, started).await
                    }
                },
            )
            .await?;
        Ok((committed, decision))
    }

    /// `GET /responses/{id}`.
    pub async fn retrieve(self, id: &str) -> Result<Response, Error> {
        self.simple(Operation::Retrieve(id)).await
    }

    /// `GET /responses/{id}?stream=true`: the events of a background response created with
    /// `background: true` and `stream: true`, from the start or, with `starting_after`, from
    /// the event after that `sequence_number`. This is how a client whose connection broke
    /// picks the stream up again; the run goes on server-side meanwhile.
    ///
    /// Nothing is routed: the response already has its deployment, so
    /// [`ResponseStream::decision`] is empty. Events numbered `starting_after` or lower are
    /// dropped if a server sends them anyway, so a resumed stream never repeats a delta. The
    /// stream's final response comes from its terminal event, which carries the whole
    /// response.
    ///
    /// A resume that gets no new event before the connection closes cleanly ends without an
    /// error, since the run may simply have had nothing after `starting_after`. But a proxy that
    /// closes idle streams, or a server restart, looks the same: when it matters that the run
    /// finished, check [`StreamAccumulator::is_complete`](crate::StreamAccumulator::is_complete)
    /// on [`ResponseStream::accumulator`] after the loop (or use
    /// [`ResponseStream::final_response`], which says when there was no final response), and
    /// [`retrieve`](Self::retrieve) the response if not.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run(client: routewise::Client, id: &str, last_seen: u64) -> Result<(), routewise::Error> {
    /// let mut rest = client.responses().retrieve_stream(id, Some(last_seen)).await?;
    /// while let Some(event) = rest.next().await {
    ///     if let Some(delta) = event?.text_delta() {
    ///         print!("{delta}");
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn retrieve_stream(
        self,
        id: &str,
        starting_after: Option<u64>,
    ) -> Result<ResponseStream, Error> {
        let shared = &*self.client.shared;
        let op = Operation::RetrieveStream(id, starting_after);
        let span = telemetry::call_span(op, &shared.endpoint, None);
        let started = Instant::now();
        let opened = async {
            let req = request::build(&shared.endpoint, &shared.default_headers, op, Bytes::new())?;
            let (parts, body, meta) = exchange::send(&shared.transport, req).await?;
            let body = if exchange::is_json(&parts.headers) {
                exchange::json_instead_of_stream(body)
                    .await
                    .map_err(|e| e.with_meta(meta.clone()))?
            } else {
                body
            };
            let reader = EventReader::new(body, shared.stream_timing);
            let reader = match starting_after {
                Some(n) => reader.resuming_after(n),
                None => reader,
            };
            Ok::<_, Error>((reader, meta))
        }
        .instrument(span.clone())
        .await;
        match opened {
            Ok((reader, meta)) => Ok(ResponseStream::unrouted(reader, meta, span, started)),
            Err(err) => {
                telemetry::record_failure(&span, &err, started.elapsed());
                Err(err)
            }
        }
    }

    /// `DELETE /responses/{id}`.
    pub async fn delete(self, id: &str) -> Result<DeletedResponse, Error> {
        self.simple(Operation::Delete(id)).await
    }

    /// `POST /responses/{id}/cancel` (background responses; idempotent).
    pub async fn cancel(self, id: &str) -> Result<Response, Error> {
        self.simple(Operation::Cancel(id)).await
    }

    /// `GET /responses/{id}/input_items`: the first page of the items the response was given,
    /// with the service's default paging.
    pub async fn input_items(self, id: &str) -> Result<InputItemList, Error> {
        self.simple(Operation::InputItems(id, None)).await
    }

    /// One page of `GET /responses/{id}/input_items`; pass the previous page's `last_id` as
    /// [`InputItemsQuery::after`] for the next one while `has_more` is true.
    pub async fn input_items_page(
        self,
        id: &str,
        query: &InputItemsQuery,
    ) -> Result<InputItemList, Error> {
        self.simple(Operation::InputItems(id, Some(query))).await
    }

    /// Every input item of a response, following `has_more` page by page (100 per page
    /// unless `query` sets a limit), in the query's order. With `before` alone it pages back
    /// from that item, and returns everything before it. Stops with an error rather than
    /// loop if the service claims more items but omits the cursor or gives one already used.
    pub async fn input_items_all(
        self,
        id: &str,
        query: InputItemsQuery,
    ) -> Result<Vec<InputItem>, Error> {
        let mut query = InputItemsQuery {
            limit: query.limit.or(Some(100)),
            ..query
        };
        // `before` alone pages back: each page is the one just before the previous page's
        // first item, so the pages arrive in reverse and are joined the other way round.
        let back = query.before.is_some() && query.after.is_none();
        let mut pages = Vec::new();
        // Every cursor used so far: a server whose cursors cycle (an unstable order, a proxy
        // that drops the cursor now and then) would otherwise be paged forever.
        let mut used = std::collections::HashSet::new();
        loop {
            let page = self.input_items_page(id, &query).await?;
            let more = page.has_more;
            let next = if back { page.first_id } else { page.last_id };
            pages.push(page.data);
            if !more {
                if back {
                    pages.reverse();
                }
                return Ok(pages.into_iter().flatten().collect());
            }
            let cursor = if back {
                &mut query.before
            } else {
                &mut query.after
            };
            if let Some(current) = cursor.take() {
                used.insert(current);
            }
            match next {
                Some(next) if !used.contains(&next) => *cursor = Some(next),
                _ => {
                    return Err(Error::new(
                        ErrorKind::Decode,
                        "input_items: has_more is true but the page gave no new cursor",
                    ));
                }
            }
        }
    }

    async fn simple<T: serde::de::DeserializeOwned>(&self, op: Operation<'_>) -> Result<T, Error> {
        let shared = &*self.client.shared;
        let span = telemetry::call_span(op, &shared.endpoint, None);
        let started = Instant::now();
        let result = async {
            let req = request::build(&shared.endpoint, &shared.default_headers, op, Bytes::new())?;
            exchange::send_json::<T>(&shared.transport, req).await
        }
        .instrument(span.clone())
        .await;
        match &result {
            Ok((_, meta)) => {
                telemetry::record_success(&span, &CallRecord::default(), meta, started.elapsed())
            }
            Err(err) => telemetry::record_failure(&span, err, started.elapsed()),
        }
        result.map(|(value, _)| value)
    }

    fn plan(&self, request: &CreateResponse) -> Result<RoutePlan, Error> {
        let routing = &*self.client.routing;
        routing
            .strategy
            .route(&RouteContext::new(request, &routing.pool))
            .map_err(|e| Error::new(ErrorKind::Route, e.to_string()).with_source(e))
    }
}

/// Reads a stream's preamble: up to and including the first event that carries content.
async fn open_stream(
    mut reader: EventReader,
    meta: ResponseMeta,
    deployment: String,
    started: Instant,
) -> Result<AttemptSuccess<Committed>, AttemptFailure> {
    let mut preamble = Vec::with_capacity(4);
    loop {
        match reader.next().await {
            Some(Ok(event)) => {
                let commit = !is_preamble(&event) || preamble.len() + 1 >= MAX_PREAMBLE;
                preamble.push(event);
                if commit {
                    break;
                }
            }
            Some(Err(err)) => return Err(err.with_meta(meta).to_attempt_failure()),
            None => {
                let err = Error::new(
                    ErrorKind::StreamProtocol,
                    "the stream ended before any content",
                );
                return Err(err.with_meta(meta).to_attempt_failure());
            }
        }
    }
    let served = preamble
        .iter()
        .rev()
        .find_map(|e| e.response().and_then(|r| r.model.clone()));
    let mut success = AttemptSuccess::new(Committed {
        reader,
        preamble,
        meta,
        deployment,
    })
    .with_time_to_first_token(started.elapsed());
    if let Some(model) = served {
        success = success.with_served_model(model);
    }
    Ok(success)
}

/// Events that announce a response without delivering any of it.
fn is_preamble(event: &ResponseStreamEvent) -> bool {
    matches!(
        event,
        ResponseStreamEvent::Created(_)
            | ResponseStreamEvent::InProgress(_)
            | ResponseStreamEvent::Queued(_)
            | ResponseStreamEvent::OutputItemAdded(_)
            | ResponseStreamEvent::ContentPartAdded(_)
            | ResponseStreamEvent::ReasoningSummaryPartAdded(_)
    )
}

/// The request for one planned attempt: the caller's request with the attempt's adjustments.
fn prepare(
    shared: &Shared,
    body: &RequestBody,
    attempt: &PlannedAttempt,
    op: Operation<'_>,
) -> Result<Request<Bytes>, Error> {
    let body = body.for_attempt(&attempt.adjustments)?;
    let mut req = request::build(&shared.endpoint, &shared.default_headers, op, body)?;
    for (name, value) in attempt.adjustments.headers() {
        let name = HeaderName::try_from(name.as_ref());
        let value = HeaderValue::try_from(value.as_ref());
        match (name, value) {
            (Ok(name), Ok(value)) => {
                req.headers_mut().insert(name, value);
            }
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "a strategy produced an invalid header",
                ));
            }
        }
    }
    Ok(req)
}

/// What the strategy learns from a successful non-streamed attempt.
fn success(response: Response, meta: ResponseMeta) -> AttemptSuccess<(Response, ResponseMeta)> {
    let served = response.model.clone();
    let usage = response
        .usage
        .as_ref()
        .map(|u| (u.input_tokens, u.output_tokens));
    let mut success = AttemptSuccess::new((response, meta));
    if let Some(model) = served {
        success = success.with_served_model(model);
    }
    if let Some((input, output)) = usage {
        success = success.with_usage(input, output);
    }
    success
}

fn exec_error(err: ExecError) -> Error {
    let (failure, decision) = err.into_parts();
    let err = match failure {
        Some(failure) => Error::from_attempt_failure(&failure),
        None => Error::new(ErrorKind::Route, "the strategy planned no attempt"),
    };
    err.with_decision(decision)
}
