// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A one-key wallet that funds channels from the blocks its node mines.
//!
//! **Not a real wallet.** It holds one P2WPKH key derived from the node's seed, learns its coins
//! by scanning every block it is given (it rescans the whole chain at each start instead of
//! persisting anything), pays a fixed fee, and forgets a coin as soon as it signs a transaction
//! spending it. It exists so that the example can fund channels without `bitcoind`.

use std::collections::HashMap;
use std::sync::Mutex;

use lightning::bitcoin::absolute::LockTime;
use lightning::bitcoin::hashes::{sha256, Hash};
use lightning::bitcoin::secp256k1::{All, Message, PublicKey, Secp256k1, SecretKey};
use lightning::bitcoin::sighash::{EcdsaSighashType, SighashCache};
use lightning::bitcoin::transaction::Version;
use lightning::bitcoin::{
	Amount, Block, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
	Witness,
};
use lightning::sign::ChangeDestinationSourceSync;

/// The fee of every transaction the wallet builds: one input, two outputs, about 1 sat/vB.
const FEE: Amount = Amount::from_sat(1_000);

/// Why the wallet could not build a transaction.
#[derive(Debug, PartialEq, Eq)]
pub enum WalletError {
	/// No single coin pays the amount and the fee; mine a block to this node first.
	InsufficientFunds,
}

impl std::fmt::Display for WalletError {
	fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
		match self {
			WalletError::InsufficientFunds => write!(f, "no coin is large enough; mine a block"),
		}
	}
}

/// A one-key, in-memory wallet: see the module docs for what it is not.
pub struct Wallet {
	secp: Secp256k1<All>,
	key: SecretKey,
	script: ScriptBuf,
	coins: Mutex<HashMap<OutPoint, Amount>>,
}

impl Wallet {
	/// The wallet of the node with `seed`; its key is derived from the seed and a label, so that
	/// it is none of LDK's keys.
	pub fn new(seed: &[u8; 32]) -> Self {
		let mut preimage = seed.to_vec();
		preimage.extend_from_slice(b"example-node on-chain wallet");
		let key = SecretKey::from_slice(&sha256::Hash::hash(&preimage).to_byte_array())
			.expect("a SHA-256 output is a valid key but with negligible probability");
		let secp = Secp256k1::new();
		let pubkey = CompressedPublicKey(PublicKey::from_secret_key(&secp, &key));
		let script = ScriptBuf::new_p2wpkh(&pubkey.wpubkey_hash());
		Self { secp, key, script, coins: Mutex::new(HashMap::new()) }
	}

	/// The script the wallet receives to: mine blocks paying it to fund the node.
	pub fn receive_script(&self) -> &ScriptBuf {
		&self.script
	}

	/// Learns the coins `block` pays us and forgets those it spends.
	pub fn block_connected(&self, block: &Block) {
		let mut coins = self.coins.lock().unwrap();
		for tx in &block.txdata {
			for input in &tx.input {
				coins.remove(&input.previous_output);
			}
			let txid = tx.compute_txid();
			for (vout, output) in tx.output.iter().enumerate() {
				if output.script_pubkey == self.script {
					coins.insert(OutPoint { txid, vout: vout as u32 }, output.value);
				}
			}
		}
	}

	/// The total of the coins the wallet may still spend.
	pub fn balance(&self) -> Amount {
		self.coins.lock().unwrap().values().copied().sum()
	}

	/// A signed transaction paying `value` to `script` (output 0), with change back to us.
	///
	/// The coin it spends is forgotten at once, so that two channels are never funded from one.
	pub fn pay_to(&self, script: ScriptBuf, value: Amount) -> Result<Transaction, WalletError> {
		let needed = value.checked_add(FEE).ok_or(WalletError::InsufficientFunds)?;
		let (outpoint, coin_value) = {
			let mut coins = self.coins.lock().unwrap();
			let (outpoint, coin_value) = coins
				.iter()
				.filter(|(_, v)| **v >= needed)
				.min_by_key(|(outpoint, v)| (**v, **outpoint))
				.map(|(o, v)| (*o, *v))
				.ok_or(WalletError::InsufficientFunds)?;
			coins.remove(&outpoint);
			(outpoint, coin_value)
		};
		let mut output = vec![TxOut { value, script_pubkey: script }];
		let change = coin_value - needed;
		if change > Amount::from_sat(1_000) {
			output.push(TxOut { value: change, script_pubkey: self.script.clone() });
		}
		let mut tx = Transaction {
			version: Version::TWO,
			lock_time: LockTime::ZERO,
			input: vec![TxIn {
				previous_output: outpoint,
				script_sig: ScriptBuf::new(),
				sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
				witness: Witness::new(),
			}],
			output,
		};
		let sighash = SighashCache::new(&tx)
			.p2wpkh_signature_hash(0, &self.script, coin_value, EcdsaSighashType::All)
			.expect("input 0 exists and the script is P2WPKH");
		let signature = lightning::bitcoin::ecdsa::Signature {
			signature: self.secp.sign_ecdsa(&Message::from(sighash), &self.key),
			sighash_type: EcdsaSighashType::All,
		};
		let pubkey = PublicKey::from_secret_key(&self.secp, &self.key);
		tx.input[0].witness = Witness::p2wpkh(&signature, &pubkey);
		Ok(tx)
	}
}

impl ChangeDestinationSourceSync for Wallet {
	fn get_change_destination_script(&self) -> Result<ScriptBuf, ()> {
		Ok(self.script.clone())
	}
}
