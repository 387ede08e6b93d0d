//! Who is told that a conversation has new messages, or that its web session
//! changed (locked, unlocked, signed out in another tab): the open web chats,
//! which then read history after their cursor, or reread their session first.
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
    sender: broadcast::Sender<Note>,
    /// Channels whose announcements other nodes hear too.
    relayed: Arc<std::sync::RwLock<Vec<&'static str>>>,
    /// This node's name in the notes it sends other nodes.
    node: Arc<str>,
}

/// What a listener hears: a conversation, and what changed in it.
#[derive(Debug, Clone)]
pub struct Note {
    pub conversation_id: Arc<str>,
    pub change: Change,
}

/// What changed in a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It has new messages.
    Messages,
    /// Its web session changed (locked, unlocked, signed out, active).
    Session,
}

impl Change {
    fn word(self) -> &'static str {
        match self {
            Change::Messages => "messages",
            Change::Session => "session",
        }
    }
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

    /// Conversations as they get new messages or their session changes.
    pub fn subscribe(&self) -> broadcast::Receiver<Note> {
        self.sender.subscribe()
    }

    /// Tells this node's listeners that the conversation has new messages,
    /// and (on PostgreSQL, for channels whose customers listen) the other
    /// nodes'.
    pub async fn announce(&self, db: &Db, conversation_id: &str, channel: &str) {
        self.tell(db, conversation_id, channel, Change::Messages).await;
    }

    /// Tells the conversation's other pages, here and on other nodes, that
    /// its web session changed.
    pub async fn announce_session(&self, db: &Db, conversation_id: &str, channel: &str) {
        self.tell(db, conversation_id, channel, Change::Session).await;
    }

    async fn tell(&self, db: &Db, conversation_id: &str, channel: &str, change: Change) {
        self.tell_local(conversation_id, change);
        let relayed = self.relayed.read().unwrap_or_else(|p| p.into_inner()).contains(&channel);
        let note = format!("{} {} {conversation_id}", self.node, change.word());
        if relayed && let Err(e) = conversations::announce_new_messages(db, &note).await {
            tracing::warn!(conversation = conversation_id, "could not announce new messages to other nodes: {e}");
        }
    }

    fn tell_local(&self, conversation_id: &str, change: Change) {
        // No receiver is not an error: nobody is watching.
        let _ = self.sender.send(Note { conversation_id: Arc::from(conversation_id), change });
    }

    /// What another node's `NOTIFY` payload says: `None` for this node's own
    /// (its listeners heard it already). A bare conversation id (a node of an
    /// earlier version) is news of both kinds.
    fn heard(&self, payload: &str) -> Vec<(String, Change)> {
        let mut words = payload.splitn(3, ' ');
        match (words.next(), words.next(), words.next()) {
            (Some(node), _, _) if node == &*self.node => Vec::new(),
            (Some(_), Some("session"), Some(conversation)) => vec![(conversation.to_string(), Change::Session)],
            (Some(_), Some(_), Some(conversation)) => vec![(conversation.to_string(), Change::Messages)],
            _ => vec![(payload.to_string(), Change::Session)],
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
                            for (conversation, change) in self.heard(note.payload()) {
                                self.tell_local(&conversation, change);
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
    fn a_node_skips_its_own_notes_and_reads_what_changed_in_others() {
        let (here, there) = (MessageFeed::default(), MessageFeed::default());
        let own = format!("{} messages conv_1", here.node);
        assert!(here.heard(&own).is_empty(), "a node's own note is not relayed back to it");
        assert_eq!(there.heard(&own), vec![("conv_1".to_string(), Change::Messages)]);
        let session = format!("{} session conv_2", here.node);
        assert_eq!(there.heard(&session), vec![("conv_2".to_string(), Change::Session)]);
        // A note of an earlier node names only the conversation: reread all.
        assert_eq!(there.heard("conv_3"), vec![("conv_3".to_string(), Change::Session)]);
    }
}
