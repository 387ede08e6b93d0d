//! Who is told that a conversation has new messages, or that its web session
//! changed (locked, unlocked, signed out in another tab): the open web chats,
//! which then reread their session and read history after their cursor.
//! In one process this is a broadcast; on PostgreSQL each announcement is also
//! a `NOTIFY`, and every node relays what it hears from other nodes (its own
//! are skipped: its listeners were told already) to its own listeners, so a
//! reply stored on one node reaches a browser connected to another. A missed
//! announcement costs only latency: listeners also read history on a timer.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::store::{Db, conversations};

/// How many announcements a slow listener may fall behind before it is told
/// it lagged (and rereads history).
const CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
pub struct MessageFeed {
    sender: broadcast::Sender<Arc<str>>,
    /// Channels whose announcements other nodes hear too.
    relayed: Arc<std::sync::RwLock<Vec<&'static str>>>,
    /// This node's name in the notes it sends other nodes.
    node: Arc<str>,
}

impl Default for MessageFeed {
    fn default() -> Self {
        MessageFeed {
            sender: broadcast::channel(CAPACITY).0,
            relayed: Arc::default(),
            node: Arc::from(uuid::Uuid::new_v4().simple().to_string()),
        }
    }
}

impl MessageFeed {
    /// Announces `channel`'s new messages to other nodes too (a transport
    /// whose customers listen for them, such as the web chat, registers it
    /// when the application is wired).
    pub fn relay_channel(&self, channel: &'static str) {
        self.relayed.write().unwrap_or_else(|p| p.into_inner()).push(channel);
    }

    /// Conversation ids as they get new messages or their session changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<str>> {
        self.sender.subscribe()
    }

    /// Tells this node's listeners, and (on PostgreSQL, for channels whose
    /// customers listen) the other nodes'.
    pub async fn announce(&self, db: &Db, conversation_id: &str, channel: &str) {
        self.tell_local(conversation_id);
        let relayed = self.relayed.read().unwrap_or_else(|p| p.into_inner()).contains(&channel);
        let note = format!("{} {conversation_id}", self.node);
        if relayed && let Err(e) = conversations::announce_new_messages(db, &note).await {
            tracing::warn!(conversation = conversation_id, "could not announce new messages to other nodes: {e}");
        }
    }

    fn tell_local(&self, conversation_id: &str) {
        // No receiver is not an error: nobody is watching.
        let _ = self.sender.send(Arc::from(conversation_id));
    }

    /// The conversation another node's `NOTIFY` payload names; `None` for
    /// this node's own (its listeners heard it already). A bare conversation
    /// id is a note of a node of an earlier version.
    fn heard<'a>(&self, payload: &'a str) -> Option<&'a str> {
        match payload.split_once(' ') {
            Some((node, _)) if node == &*self.node => None,
            Some((_, conversation)) => Some(conversation),
            None => Some(payload),
        }
    }

    /// On PostgreSQL, relays other nodes' announcements to this node's
    /// listeners until `stop` is cancelled, reconnecting when the connection
    /// drops. Returns at once on SQLite (one node). Run by the
    /// [`Supervisor`](crate::supervisor::Supervisor).
    pub async fn relay(self, database_url: Option<String>, stop: CancellationToken) {
        let Some(url) = database_url.filter(|url| url.starts_with("postgres")) else { return };
        while !stop.is_cancelled() {
            let listening = tokio::select! {
                biased;
                () = stop.cancelled() => return,
                listening = conversations::listen_for_new_messages(&url) => listening,
            };
            match listening {
                Ok(mut listener) => loop {
                    let heard = tokio::select! {
                        biased;
                        () = stop.cancelled() => return,
                        heard = listener.recv() => heard,
                    };
                    match heard {
                        Ok(note) => {
                            if let Some(conversation) = self.heard(note.payload()) {
                                self.tell_local(conversation);
                            }
                        }
                        Err(e) => {
                            tracing::warn!("message feed: lost the database listener: {e}");
                            break;
                        }
                    }
                },
                Err(e) => tracing::warn!("message feed: cannot listen on the database: {e}"),
            }
            tokio::select! {
                biased;
                () = stop.cancelled() => return,
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_skips_its_own_notes_and_relays_other_nodes() {
        let (here, there) = (MessageFeed::default(), MessageFeed::default());
        let own = format!("{} conv_1", here.node);
        assert_eq!(here.heard(&own), None, "a node's own note is not relayed back to it");
        assert_eq!(there.heard(&own), Some("conv_1"));
        // A note of an earlier node names only the conversation.
        assert_eq!(there.heard("conv_3"), Some("conv_3"));
    }
}
