//! Messages as a terminal shows them: what the customer would see, in text.

use serde_json::Value;

/// The lines a message's body shows as (a rendered reply or a customer message).
pub fn lines(body: &Value) -> Vec<String> {
    let text = |key: &str| body[key].as_str().unwrap_or_default().to_string();
    let mut out = Vec::new();
    match body["type"].as_str().unwrap_or_default() {
        "text" => out.push(text("text")),
        "buttons" => {
            out.push(text("body"));
            for button in body["buttons"].as_array().into_iter().flatten() {
                out.push(format!("  [{}]  (/tap {})", str_of(&button["title"]), str_of(&button["id"])));
            }
        }
        "list" => {
            out.push(format!("{}  ({} ▾)", text("body"), text("button_label")));
            for row in body["rows"].as_array().into_iter().flatten() {
                let description = row["description"].as_str().map(|d| format!(" — {d}")).unwrap_or_default();
                out.push(format!("  • {}{description}  (/tap {})", str_of(&row["title"]), str_of(&row["id"])));
            }
        }
        "product" => out.extend(card(&body["product"])),
        "product_list" => {
            for key in ["header", "body"] {
                if !text(key).is_empty() {
                    out.push(text(key));
                }
            }
            for product in body["products"].as_array().into_iter().flatten() {
                out.extend(card(product));
            }
        }
        "cart_summary" => out.extend(cart(&body["cart"])),
        "checkout" => {
            let order = &body["order"];
            out.push(format!("Order #{} — {}", order["number"], str_of(&order["total"]["formatted"])));
            out.extend(cart(&body["cart"]));
            out.push(format!("  Pay: {}", str_of(&order["payment_url"])));
        }
        "handoff_requested" => out.push(format!("(asks for a person: {})", text("note"))),
        other => out.push(format!("({other}) {body}")),
    }
    out
}

fn str_of(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn card(product: &Value) -> Vec<String> {
    let stock = if product["in_stock"] == true { "" } else { " (out of stock)" };
    vec![format!(
        "  ▣ {} — {}{stock}  (/product {})",
        str_of(&product["name"]),
        str_of(&product["price"]["formatted"]),
        str_of(&product["id"])
    )]
}

fn cart(cart: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for line in cart["lines"].as_array().into_iter().flatten() {
        out.push(format!(
            "  {} × {}  {}",
            line["quantity"],
            str_of(&line["name"]),
            str_of(&line["line_total"]["formatted"])
        ));
    }
    for discount in cart["discounts"].as_array().into_iter().flatten() {
        out.push(format!("  {}  −{}", str_of(&discount["label"]), str_of(&discount["amount"]["formatted"])));
    }
    out.push(format!("  Total {}", str_of(&cart["total"]["formatted"])));
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::lines;

    #[test]
    fn buttons_show_how_to_tap_them() {
        let body = json!({"type": "buttons", "body": "Hello!", "buttons": [{"id": "browse", "title": "Browse"}]});
        assert_eq!(lines(&body), ["Hello!", "  [Browse]  (/tap browse)"]);
    }
}
