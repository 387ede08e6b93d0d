// Folio: a bookshop that takes orders in chat, with search and recommendations.
//
// The JavaScript example shop for Bottega plugin authors (built with
// ComponentizeJS). Customers search by title or author, browse sections, and
// get recommendations: each book a customer looks at is remembered in the
// host's key-value store under their pseudonymous id, and "recommend" suggests
// unseen books from the sections they looked at most. Three books or more get
// 10% off through the pricing hook (`priceCart`).
//
// How WIT looks from JavaScript: records are objects with camelCase fields,
// variants are `{ tag: 'kebab-name', val }`, an `option` is the value or
// `undefined`, and a `result` returned by an import either returns the ok value
// or throws an error whose `payload` is the error case. WIT `s64` and `u64` are
// BigInt: money amounts (`amountMinor`) arrive as BigInt (`1299n`) and must be
// given back as BigInt.

import * as catalog from 'bottega:shop/catalog@1.1.0';
import * as cart from 'bottega:shop/cart@1.1.0';
import * as kv from 'bottega:shop/kv@1.1.0';
import { log } from 'bottega:shop/log@1.1.0';

const PAGE = 10;
// Books in the basket from which the volume discount applies, and its percent.
const VOLUME_BOOKS = 3;
const VOLUME_PERCENT = 10n;
// How many recently viewed books a customer's history keeps.
const HISTORY = 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const bot = {
  handleMessage(context, message) {
    switch (message.tag) {
      case 'text':
        return onText(context, message.val);
      case 'choice':
        return onChoice(context, message.val.id);
      case 'product-tap':
        return showBook(context, message.val);
      case 'cart': {
        const units = message.val.reduce((sum, item) => sum + item.quantity, 0);
        return [text(`Thank you! ${units} books are in your basket.`), { tag: 'cart-summary' }, basketActions()];
      }
      default:
        return [mainMenu()];
    }
  },

  handleEvent(context, event) {
    switch (event.tag) {
      case 'order-paid':
        return [text(`Paid, thank you! We're wrapping order ${event.val.orderId} now.`)];
      case 'payment-failed':
        return [text(`The payment for order ${event.val.orderId} didn't go through (${event.val.reason}). You can try again from the same link.`)];
      case 'order-shipped':
        return [text(`Order ${event.val.orderId} is on its way. Happy reading!`)];
      default:
        return [text('I\'m back! Say "menu" to keep browsing.')];
    }
  },
};

export const storefront = {
  presentCatalog(context, query) {
    if (query.text !== undefined) return search(query.text);
    if (query.section !== undefined) return showSection(query.section);
    return showSections();
  },

  priceCart(context, basket) {
    return volumeDiscount(basket);
  },
};

function onText(context, said) {
  const words = said.trim().toLowerCase();
  if (['hi', 'hello', 'hey', 'hola', 'start'].includes(words)) return greet();
  if (['menu', 'browse', 'shop'].includes(words)) return showSections();
  if (['recommend', 'recommendations', 'suggest'].includes(words)) return recommend(context);
  if (['cart', 'basket'].includes(words)) return showBasket();
  if (['checkout', 'pay'].includes(words)) return checkout();
  if (['agent', 'human', 'help'].includes(words)) {
    return [text('Of course, one of our booksellers will answer here shortly.'), { tag: 'human-agent', val: 'customer asked for a person' }];
  }
  return search(words);
}

function onChoice(context, id) {
  if (id.startsWith('section:')) return showSection(id.slice('section:'.length));
  if (id.startsWith('add:')) return addToBasket(id.slice('add:'.length));
  if (id === 'recommend') return recommend(context);
  if (id === 'browse') return showSections();
  if (id === 'cart') return showBasket();
  if (id === 'checkout') return checkout();
  return greet();
}

function greet() {
  return [{
    tag: 'buttons',
    val: {
      body: 'Welcome to Folio! Tell me a title or an author, or let me recommend something.',
      buttons: [button('browse', 'Browse sections'), button('recommend', 'Recommend me'), button('cart', 'My basket')],
    },
  }];
}

function showSections() {
  const sections = catalog.listSections();
  if (sections.length === 0) return [text('Our shelves are being restocked: please come back soon.')];
  return [{
    tag: 'choice-list',
    val: {
      body: 'Pick a section:',
      buttonLabel: 'Sections',
      rows: sections.slice(0, 10).map((s) => ({ id: `section:${s}`, title: s.slice(0, 24), description: undefined })),
    },
  }];
}

function showSection(section) {
  const ids = catalog.listProducts(section, 0, PAGE).filter((p) => p.available).map((p) => p.id);
  if (ids.length === 0) return [text(`Nothing in ${section} right now, sorry.`), mainMenu()];
  return [{ tag: 'product-list', val: { header: section, body: 'Tap a book to see it.', productIds: ids } }];
}

function search(words) {
  const found = catalog.searchProducts(words, PAGE).filter((p) => p.available).map((p) => p.id);
  if (found.length === 0) return [text(`Sorry, I found no book matching "${words}".`), mainMenu()];
  if (found.length === 1) return [{ tag: 'product', val: found[0] }, bookActions(found[0])];
  return [{ tag: 'product-list', val: { header: `${found.length} books`, body: `Books matching "${words}":`, productIds: found } }];
}

function showBook(context, id) {
  const book = catalog.getProduct(id);
  if (book === undefined || !book.available) return [text('That book is out of print here, sorry.'), mainMenu()];
  remember(context, book.id);
  return [{ tag: 'product', val: book.id }, bookActions(book.id)];
}

// --- recommendations: the sections a customer looked at most, books not yet seen.

function historyKey(context) {
  return `seen:${context.customerId}`;
}

function history(context) {
  const stored = kv.get(historyKey(context));
  if (stored === undefined) return [];
  try {
    const ids = JSON.parse(decoder.decode(stored));
    return Array.isArray(ids) ? ids : [];
  } catch {
    return [];
  }
}

function remember(context, id) {
  const seen = [id, ...history(context).filter((other) => other !== id)].slice(0, HISTORY);
  try {
    kv.set(historyKey(context), encoder.encode(JSON.stringify(seen)));
  } catch (error) {
    // A full store only costs us a recommendation: not worth failing the reply.
    log('warn', 'could not remember a viewed book', [['error', String(error.payload?.tag ?? error)]]);
  }
}

function recommend(context) {
  const seen = history(context);
  const counts = new Map();
  for (const id of seen) {
    const book = catalog.getProduct(id);
    if (book !== undefined) counts.set(book.section, (counts.get(book.section) ?? 0) + 1);
  }
  const sections = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([section]) => section);
  const picks = [];
  for (const section of sections) {
    for (const book of catalog.listProducts(section, 0, 50)) {
      if (book.available && !seen.includes(book.id) && picks.length < 3) picks.push(book.id);
    }
  }
  if (picks.length === 0) {
    return [text('Look at a few books first (search for an author you like), then ask me again.'), mainMenu()];
  }
  log('info', 'recommended', [['books', picks.join(',')]]);
  return [{ tag: 'product-list', val: { header: 'For you', body: 'Readers who liked what you looked at also read:', productIds: picks } }];
}

// --- basket

const CART_ERRORS = {
  'unknown-product': 'That book is out of print here, sorry.',
  unavailable: 'That book is out of print here, sorry.',
  'insufficient-stock': "We don't have that many copies, sorry.",
  'invalid-quantity': 'Please ask for between 1 and 999 copies.',
  'cart-full': 'Your basket is full: check out first.',
};

function addToBasket(id) {
  let basket;
  try {
    basket = cart.addItem(id, 1);
  } catch (error) {
    return [text(CART_ERRORS[error.payload] ?? "That didn't work, sorry."), mainMenu()];
  }
  const units = basket.lines.reduce((sum, line) => sum + line.quantity, 0);
  const line = basket.lines.find((l) => l.productId === id);
  return [text(`Added ${line ? line.name : id}. Your basket has ${units} books.`), basketActions()];
}

function showBasket() {
  if (cart.get().lines.length === 0) return [text('Your basket is empty.'), mainMenu()];
  return [{ tag: 'cart-summary' }, basketActions()];
}

function checkout() {
  if (cart.get().lines.length === 0) return [text('Your basket is empty: add a book first.'), mainMenu()];
  return [text('Here is your order to pay for:'), { tag: 'checkout' }];
}

// 10% off the whole basket from three books; amounts are BigInt minor units.
function volumeDiscount(basket) {
  const books = basket.lines.reduce((sum, line) => sum + line.quantity, 0);
  if (books < VOLUME_BOOKS) return [];
  const amountMinor = (basket.subtotal.amountMinor * VOLUME_PERCENT) / 100n;
  if (amountMinor <= 0n) return [];
  return [{ label: `${VOLUME_PERCENT}% off ${VOLUME_BOOKS}+ books`, amountMinor, productIds: [] }];
}

// --- helpers

function text(body) {
  return { tag: 'text', val: body };
}

function button(id, title) {
  return { id, title };
}

function mainMenu() {
  return { tag: 'buttons', val: { body: 'What next?', buttons: [button('browse', 'Browse sections'), button('recommend', 'Recommend me'), button('cart', 'My basket')] } };
}

function bookActions(id) {
  return { tag: 'buttons', val: { body: 'Would you like this one?', buttons: [button(`add:${id}`, 'Add to basket'), button('recommend', 'More like this'), button('cart', 'My basket')] } };
}

function basketActions() {
  return { tag: 'buttons', val: { body: 'Anything else?', buttons: [button('checkout', 'Check out'), button('browse', 'Keep browsing'), button('cart', 'My basket')] } };
}
