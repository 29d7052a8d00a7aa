//! A renderer that panics: the render must fail with the panic message.
fn render(_: &kiln::Request) -> kiln::Result<kiln::Response> {
    let items: Vec<u8> = Vec::new();
    panic!("boom: {} items", items.len());
}
kiln::export!(render: render);
